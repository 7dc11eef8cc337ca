/* The report form's photo picker: thumbnails of the chosen photos under the big button.
   Without this file the browser lists the chosen files' names. */
(function () {
  "use strict";
  document.querySelectorAll(".photo-input").forEach(function (input) {
    var picker = input.closest(".photo-picker");
    var previews = picker && picker.querySelector(".photo-previews");
    if (!previews || !window.URL || !URL.createObjectURL) return;
    input.addEventListener("change", function () {
      previews.textContent = "";
      Array.prototype.slice.call(input.files || [], 0, 6).forEach(function (file) {
        var figure = document.createElement("figure");
        var caption = document.createElement("figcaption");
        caption.textContent = file.name;
        if (/^image\//.test(file.type)) {
          var img = document.createElement("img");
          img.alt = file.name;
          img.src = URL.createObjectURL(file);
          img.onload = function () { URL.revokeObjectURL(img.src); };
          figure.appendChild(img);
        }
        figure.appendChild(caption);
        previews.appendChild(figure);
      });
    });
  });
})();
