// Scanning a QR code with the phone's camera, in the browser: frames from the rear camera are decoded
// by jsQR (static/vendor/jsQR.js, shipped with the application); the text read goes into the form's
// field and the form is sent, as a keyboard-wedge scanner would do.
(function () {
  "use strict";
  function start(button) {
    var form = document.getElementById(button.getAttribute("data-form"));
    var field = form && form.querySelector("[name=text]");
    var box = document.getElementById(button.getAttribute("data-box"));
    var note = document.getElementById(button.getAttribute("data-note"));
    if (!form || !field || !box) { return; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || typeof jsQR !== "function") {
      if (note) { note.hidden = false; }
      return;
    }
    var video = document.createElement("video");
    video.setAttribute("playsinline", "");
    video.muted = true;
    var canvas = document.createElement("canvas");
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    var stop = document.createElement("button");
    stop.type = "button";
    stop.textContent = button.getAttribute("data-stop");
    box.hidden = false;
    box.replaceChildren(video, stop);
    button.hidden = true;
    var stream = null;
    var done = false;
    function finish() {
      done = true;
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
      box.hidden = true;
      box.replaceChildren();
      button.hidden = false;
    }
    stop.addEventListener("click", finish);
    function tick() {
      if (done) { return; }
      if (video.readyState >= 2 && video.videoWidth) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
        var image = ctx.getImageData(0, 0, canvas.width, canvas.height);
        var code = jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
        if (code && code.data) {
          field.value = code.data;
          finish();
          form.submit();
          return;
        }
      }
      window.requestAnimationFrame(tick);
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        return video.play();
      })
      .then(function () { window.requestAnimationFrame(tick); })
      .catch(function () { finish(); if (note) { note.hidden = false; } });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-scan]").forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () { start(b); });
    });
    var next = document.getElementById("verdict-next");
    if (next) {
      next.addEventListener("click", function () {
        var v = document.getElementById("verdict");
        if (v) { v.hidden = true; }
        var f = document.getElementById("scan");
        if (f) { f.value = ""; f.focus(); }
      });
      next.focus();
    }
  });
})();
