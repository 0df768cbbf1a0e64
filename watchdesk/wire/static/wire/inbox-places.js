// The inbox's place box: suggest places from the whole gazetteer as the editor types. Without it the
// box still takes names, state codes, codes and slugs, and the page lists the choices when unsure.
(function () {
  "use strict";
  var input = document.querySelector("input[data-place-suggest]");
  var list = input && document.getElementById(input.getAttribute("list"));
  if (!list || !window.fetch) {
    return;
  }
  var endpoint = input.getAttribute("data-place-suggest");
  var timer = null;
  var asked = "";

  function show(places) {
    var options = places.map(function (place) {
      var option = document.createElement("option");
      option.value = place.value;
      option.textContent = place.kind;
      return option;
    });
    list.replaceChildren.apply(list, options);
  }

  function suggest() {
    var text = input.value.trim();
    if (text.length < 2 || text === asked) {
      return;
    }
    asked = text;
    fetch(endpoint + "?q=" + encodeURIComponent(text), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.ok ? response.json() : { places: [] };
      })
      .then(function (data) {
        if (input.value.trim() === text) {
          show(data.places);
        }
      })
      .catch(function () {
        asked = ""; // try again on the next key
      });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(suggest, 150);
  });
})();
