/* Resident Portal: small progressive enhancements; every page works without this file. */
(function () {
  "use strict";

  /* Photo picker: thumbnails of the chosen photos under the big button. */
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

  /* Read aloud (朗读): the browser's own speech synthesis, in the page's language. The
     buttons stay hidden where the browser has none. */
  var speech = window.speechSynthesis;
  if (!speech || typeof window.SpeechSynthesisUtterance !== "function") return;
  document.querySelectorAll("button.read-aloud").forEach(function (button) {
    var target = document.querySelector(button.getAttribute("data-target")) || document.querySelector("main");
    var startLabel = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      if (speech.speaking) {
        speech.cancel();
        return;
      }
      var text = (target.innerText || target.textContent).replace(/\s+/g, " ").trim();
      var utterance = new SpeechSynthesisUtterance(text);
      utterance.lang = document.documentElement.lang || "zh-CN";
      utterance.rate = 0.9; /* a little slower: easier to follow */
      utterance.onend = utterance.onerror = function () {
        button.textContent = startLabel;
        button.setAttribute("aria-pressed", "false");
      };
      button.textContent = button.getAttribute("data-stop");
      button.setAttribute("aria-pressed", "true");
      speech.speak(utterance);
    });
  });
})();
