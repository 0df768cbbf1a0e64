// The subscribe and preferences forms, enhanced: the place box suggests places from the whole gazetteer
// (picking one adds a ticked box under "Your places"), and the sentence saying what the reader will get,
// with its count of recent posts, follows every change. Without this file the box takes typed names,
// read on the server, and the sentence is the one of the last submission.
(function () {
  "use strict";
  var form = document.querySelector("form.subscription-form");
  var picker = form && form.querySelector("[data-place-picker]");
  var previewBox = form && form.querySelector("[data-scope-preview]");
  if (!form || !window.fetch) {
    return;
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(
      function (response) {
        if (!response.ok) {
          throw new Error(response.status);
        }
        return response.json();
      },
    );
  }

  // The sentence and the count -------------------------------------------------------------------
  var previewTimer = null;
  var previewAsked = "";

  function checkedValues(name) {
    return Array.prototype.map.call(
      form.querySelectorAll('input[name="' + name + '"]:checked'),
      function (input) {
        return input.value;
      },
    );
  }

  function updatePreview() {
    if (!previewBox) {
      return;
    }
    var query = new URLSearchParams();
    query.append("scope", checkedValues("scope")[0] || "everything");
    query.append("cadence", checkedValues("cadence")[0] || "");
    checkedValues("topics").forEach(function (value) {
      query.append("topics", value);
    });
    checkedValues("regions").forEach(function (value) {
      query.append("regions", value);
    });
    var asked = query.toString();
    if (asked === previewAsked) {
      return;
    }
    previewAsked = asked;
    getJSON(previewBox.getAttribute("data-scope-preview") + "?" + asked)
      .then(function (data) {
        if (asked !== previewAsked) {
          return; // a later change is on its way
        }
        previewBox.querySelector("[data-scope-sentence]").textContent = data.sentence;
        previewBox.querySelector("[data-scope-count]").textContent = data.count_text;
      })
      .catch(function () {
        previewAsked = "";
      });
  }

  function schedulePreview() {
    window.clearTimeout(previewTimer);
    previewTimer = window.setTimeout(updatePreview, 150);
  }

  form.addEventListener("change", function (event) {
    if (event.target.name !== "place_names") {
      schedulePreview();
    }
  });

  // The place box's type-ahead ---------------------------------------------------------------------
  if (!picker) {
    return;
  }
  var input = picker.querySelector('input[name="place_names"]');
  var mine = form.querySelector('[data-place-group="mine"]');
  var list = document.createElement("ul");
  list.id = input.id + "_suggestions";
  list.className = "place-suggestions";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "Places");
  list.hidden = true;
  input.insertAdjacentElement("afterend", list);
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", list.id);
  input.setAttribute("aria-expanded", "false");

  var suggestTimer = null;
  var suggestAsked = "";
  var active = -1;

  function options() {
    return list.querySelectorAll('[role="option"]');
  }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(index) {
    var all = options();
    if (!all.length) {
      return;
    }
    active = (index + all.length) % all.length;
    Array.prototype.forEach.call(all, function (option, n) {
      option.setAttribute("aria-selected", n === active ? "true" : "false");
    });
    input.setAttribute("aria-activedescendant", all[active].id);
    all[active].scrollIntoView({ block: "nearest" });
  }

  function choose(option) {
    var id = option.getAttribute("data-id");
    var box = form.querySelector('input[name="regions"][value="' + id + '"]');
    if (!box) {
      var item = document.createElement("li");
      var label = document.createElement("label");
      box = document.createElement("input");
      box.type = "checkbox";
      box.name = "regions";
      box.value = id;
      box.id = "id_regions_" + id;
      label.className = "choice";
      label.htmlFor = box.id;
      label.append(box, " " + option.getAttribute("data-name"));
      item.append(label);
      mine.querySelector("ul").append(item);
      mine.hidden = false;
    }
    box.checked = true;
    input.value = "";
    suggestAsked = "";
    close();
    input.focus();
    schedulePreview();
  }

  function show(places) {
    var made = places.map(function (place, n) {
      var option = document.createElement("li");
      var kind = document.createElement("span");
      option.id = list.id + "_" + n;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.setAttribute("data-id", place.id);
      option.setAttribute("data-name", place.name);
      kind.className = "place-suggestions__kind";
      kind.textContent = place.kind;
      option.append(place.name + " ", kind);
      return option;
    });
    list.replaceChildren.apply(list, made);
    active = -1;
    list.hidden = !made.length;
    input.setAttribute("aria-expanded", made.length ? "true" : "false");
  }

  function suggest() {
    var text = input.value.trim();
    if (text.length < 2) {
      close();
      return;
    }
    if (text === suggestAsked) {
      return;
    }
    suggestAsked = text;
    getJSON(picker.getAttribute("data-place-picker") + "?q=" + encodeURIComponent(text))
      .then(function (data) {
        if (input.value.trim() === text) {
          show(data.places);
        }
      })
      .catch(function () {
        suggestAsked = ""; // try again on the next key
      });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(suggestTimer);
    suggestTimer = window.setTimeout(suggest, 150);
  });
  input.addEventListener("keydown", function (event) {
    if (list.hidden) {
      return;
    }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      highlight(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault(); // pick the place, do not submit the form
      choose(options()[active]);
    } else if (event.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", function () {
    window.setTimeout(close, 200);
  });
  list.addEventListener("mousedown", function (event) {
    event.preventDefault(); // keep the focus in the box
  });
  list.addEventListener("click", function (event) {
    var option = event.target.closest('[role="option"]');
    if (option) {
      choose(option);
    }
  });
})();
