// Times and time zones in the visitor's own terms, where JavaScript runs. Without it the page already
// works: times read in the site's zone, and forms send the zone shown in their list.
(function () {
  "use strict";

  // Browsers report ICU's names, some of them the tz database's old spellings; the zone list uses the
  // current ones (the server accepts both).
  var CURRENT = {
    "Asia/Calcutta": "Asia/Kolkata", "Asia/Saigon": "Asia/Ho_Chi_Minh", "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon", "Europe/Kiev": "Europe/Kyiv", "Atlantic/Faeroe": "Atlantic/Faroe",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires", "America/Godthab": "America/Nuuk",
    "America/Indianapolis": "America/Indiana/Indianapolis", "America/Louisville": "America/Kentucky/Louisville",
    "Pacific/Truk": "Pacific/Chuuk", "Pacific/Ponape": "Pacific/Pohnpei", "Pacific/Enderbury": "Pacific/Kanton",
    "Asia/Ulan_Bator": "Asia/Ulaanbaatar", "Asia/Thimbu": "Asia/Thimphu", "Asia/Dacca": "Asia/Dhaka"
  };
  var browserZone = "";
  try {
    browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    return;
  }
  browserZone = CURRENT[browserZone] || browserZone;

  // <time data-local-time>: the server wrote the site's zone; read it again in the visitor's.
  var format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit",
    timeZoneName: "short"
  });
  document.querySelectorAll("time[data-local-time]").forEach(function (node) {
    var moment = new Date(node.getAttribute("datetime"));
    if (isNaN(moment.getTime())) {
      return;
    }
    node.title = node.textContent;
    node.textContent = format.format(moment);
  });

  // data-zone-guess="browser": nobody chose a zone yet, so offer the browser's.
  document.querySelectorAll("[data-zone-guess=browser]").forEach(function (field) {
    if (!browserZone) {
      return;
    }
    if (field.tagName === "SELECT") {
      var known = Array.prototype.some.call(field.options, function (option) {
        return option.value === browserZone;
      });
      if (!known) {
        // An alias the list does not show (the server accepts every tz database name).
        var option = document.createElement("option");
        option.value = option.textContent = browserZone;
        field.appendChild(option);
      }
    }
    field.value = browserZone;
  });

  // The digest time only matters for a digest: hide it while "as soon as published" is chosen.
  document.querySelectorAll("[data-digest-timing]").forEach(function (timing) {
    var form = timing.form || timing.closest("form");
    var radios = form ? form.querySelectorAll("input[name=cadence]") : [];
    function update() {
      var chosen = form.querySelector("input[name=cadence]:checked");
      timing.hidden = Boolean(chosen && chosen.value === "instant");
      timing.querySelectorAll("[data-weekly-only]").forEach(function (field) {
        field.hidden = Boolean(chosen && chosen.value !== "weekly");
      });
    }
    radios.forEach(function (radio) { radio.addEventListener("change", update); });
    if (radios.length) {
      update();
    }
  });
})();
