// Progressive enhancement: a "Print" button where the page offers one (data-print). Without
// script the button stays hidden and the browser's own Print command does the same.
document.querySelectorAll("button[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
