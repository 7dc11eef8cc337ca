/* Staff entry forms (record a pledge / a payment): choosing a household fills in its amount
   (the option's data-amount), unless the secretary has typed another. Progressive
   enhancement: without it the page works, after choosing through ?household=. */
(function () {
  var select = document.querySelector("select[data-prefill]");
  if (!select) return;
  var amount = document.getElementById(select.getAttribute("data-prefill"));
  if (!amount) return;
  var filled = amount.value;
  select.addEventListener("change", function () {
    var option = select.options[select.selectedIndex];
    if (amount.value === "" || amount.value === filled) {
      filled = amount.value = option.getAttribute("data-amount") || "";
    }
  });
})();
