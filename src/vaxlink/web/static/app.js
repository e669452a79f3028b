// A keyboard-wedge scanner types the card's QR text and Enter into the focused field: keep the
// counter's field focused and emptied after each lookup so the next card can be scanned at once.
document.addEventListener("DOMContentLoaded", function () {
  var scan = document.getElementById("scan");
  if (scan) { scan.value = ""; scan.focus(); }
});
