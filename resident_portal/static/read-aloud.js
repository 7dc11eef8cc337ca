/* 朗读: the browser's own speech synthesis, in the page's language; hidden where there is none. */
(function () {
  "use strict";
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
