// A keyboard-wedge scanner types the card's QR text and Enter into the focused field: keep the
// counter's field focused and emptied after each lookup so the next card can be scanned at once. After a
// mistake the text stays, selected, so that it can be corrected or simply scanned over.
document.addEventListener("DOMContentLoaded", function () {
  var scan = document.getElementById("scan");
  if (!scan) { return; }
  if (scan.getAttribute("aria-invalid") === "true") { scan.select(); } else { scan.value = ""; }
  scan.focus();
});
