// whatworks workspace: keyboard shortcuts and small conveniences. No framework, no build step.
(function () {
  "use strict";

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  // Exclude needs a reason: say so before the request instead of after.
  function needsReason(button) {
    var form = button.form;
    if (!form || button.value !== "exclude") return false;
    var reason = form.querySelector("textarea[name=reason]");
    if (reason && !reason.value.trim()) {
      reason.focus();
      reason.setAttribute("aria-invalid", "true");
      reason.placeholder = "Write why it is excluded, then press Exclude (or Ctrl+Enter).";
      return true;
    }
    return false;
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest("button[name=decision]");
    if (button && needsReason(button)) ev.preventDefault();
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.metaKey) return;
    var form = document.getElementById("decision-form");
    // Ctrl+Enter in the reason box: submit with the decision last pointed at (default: exclude)
    if (form && ev.ctrlKey && ev.key === "Enter" && typing(ev.target) && ev.target.name === "reason") {
      var pick = form.querySelector("button[data-key=e]");
      if (pick) { ev.preventDefault(); pick.click(); }
      return;
    }
    if (ev.ctrlKey || typing(ev.target)) return;
    var key = ev.key && ev.key.toLowerCase();
    var target = document.querySelector("[data-key='" + key + "']");
    if (!target) return;
    ev.preventDefault();
    target.click();
  });

  // Confirm before leaving a half-written reason or correction.
  var dirty = false;
  document.addEventListener("input", function (ev) {
    if (ev.target && ev.target.form && ev.target.form.method === "post") dirty = true;
  });
  document.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (ev) {
    if (dirty) { ev.preventDefault(); ev.returnValue = ""; }
  });
})();

// --- Evidence in context: the document beside the decision --------------------------------------
// Clicking a criterion, an item or its page link scrolls the document pane to the passage behind
// it and highlights it; a PDF's page can be shown as an image with the passage boxed.
(function () {
  "use strict";
  var pane = document.getElementById("pane");
  if (!pane) return;
  var body = document.getElementById("pane-body");
  var images = document.getElementById("pane-images");
  var termsToggle = document.getElementById("terms-toggle");
  var imagesToggle = document.getElementById("images-toggle");
  var sha = pane.getAttribute("data-sha");

  function scrollTo(container, el) {
    var top = 0, node = el;
    while (node && node !== container) { top += node.offsetTop; node = node.offsetParent; }
    container.scrollTop = Math.max(0, top - 48);
  }

  function imagesOn() { return imagesToggle && imagesToggle.checked; }

  function showImages(on) {
    if (!imagesToggle) return;
    imagesToggle.checked = on;
    body.hidden = on;
    images.hidden = !on;
    if (on && !images.childElementCount) {
      var n = parseInt(pane.getAttribute("data-npages"), 10) || 1;
      for (var i = 1; i <= n; i++) {
        var box = document.createElement("div");
        box.className = "pdfpage";
        box.setAttribute("data-page", String(i));
        var img = document.createElement("img");
        img.loading = "lazy";
        img.alt = "page " + i;
        img.src = "/doc/" + sha + "/page/" + i + ".png?w=900";
        box.appendChild(img);
        images.appendChild(box);
      }
    }
  }

  function boxOnImage(page, quote) {
    var holder = images.querySelector('.pdfpage[data-page="' + page + '"]');
    if (!holder) return;
    images.querySelectorAll(".hl").forEach(function (h) { h.remove(); });
    scrollTo(images, holder);
    if (!quote) return;
    fetch("/doc/" + sha + "/boxes?page=" + page + "&q=" + encodeURIComponent(quote.slice(0, 1500)),
          {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {boxes: []}; })
      .then(function (data) {
        data.boxes.forEach(function (b, k) {
          var d = document.createElement("div");
          d.className = "hl";
          d.style.left = (b[0] * 100) + "%";
          d.style.top = (b[1] * 100) + "%";
          d.style.width = ((b[2] - b[0]) * 100) + "%";
          d.style.height = ((b[3] - b[1]) * 100) + "%";
          holder.appendChild(d);
          if (k === 0) images.scrollTop += d.offsetTop - 60;
        });
      });
  }

  // ref: "crit-I1" or "item-3"; page and quote: for the page images
  function showPassage(ref, page, quote) {
    pane.querySelectorAll("mark.current").forEach(function (m) { m.classList.remove("current"); });
    document.querySelectorAll(".shown").forEach(function (m) { m.classList.remove("shown"); });
    var marks = body.querySelectorAll('mark[data-refs~="' + ref + '"]');
    marks.forEach(function (m) { m.classList.add("current"); });
    document.querySelectorAll('[data-ref="' + ref + '"]').forEach(function (m) { m.classList.add("shown"); });
    if (!page && marks.length) {
      var sec = marks[0].closest(".pane-page");
      page = sec && sec.getAttribute("data-page");
    }
    if (imagesOn()) { boxOnImage(page || 1, quote); return; }
    if (marks.length) scrollTo(body, marks[0]);
    else if (page) {
      var section = body.querySelector('.pane-page[data-page="' + page + '"]');
      if (section) scrollTo(body, section);
    }
  }
  window.wwShowPassage = showPassage;

  function fromElement(el) {
    var card = el.closest(".item-card");
    if (card) {
      var text = card.querySelector(".text");
      return [card.getAttribute("data-ref"), card.getAttribute("data-page"), text ? text.textContent : ""];
    }
    return [el.getAttribute("data-ref"), el.getAttribute("data-page"), el.getAttribute("data-quote") || ""];
  }

  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (!t.closest || t.closest("input, label, button, select, textarea, form .item-actions")) return;
    var el = t.closest(".crit[data-ref], .item-card .goto, .item-card .text");
    if (!el) return;
    ev.preventDefault();
    var card = el.closest(".item-card");
    if (card && window.wwFocusCard) window.wwFocusCard(card);
    else showPassage.apply(null, fromElement(el));
  });
  document.addEventListener("keydown", function (ev) {
    var el = ev.target;
    if (ev.key === "Enter" && el && el.classList && el.classList.contains("crit") && el.hasAttribute("data-ref")) {
      ev.preventDefault();
      showPassage.apply(null, fromElement(el));
      return;
    }
    // c / Shift+C: the next / previous criterion whose passage is in the text
    if ((ev.key === "c" || ev.key === "C") && !ev.ctrlKey && !ev.altKey && !ev.metaKey) {
      var tag = el && el.tagName;
      if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
      var crits = Array.prototype.slice.call(document.querySelectorAll(".crit[data-ref]"));
      if (!crits.length) return;
      ev.preventDefault();
      var at = crits.findIndex(function (c) { return c.classList.contains("shown"); });
      var next = crits[(at + (ev.key === "c" ? 1 : crits.length - 1) + (at < 0 && ev.key === "C" ? 1 : 0)) % crits.length];
      next.scrollIntoView({block: "nearest"});
      showPassage.apply(null, fromElement(next));
    }
  });

  function setTerms(on) {
    pane.classList.toggle("no-terms", !on);
    if (termsToggle) termsToggle.checked = on;
    try { localStorage.setItem("ww-terms", on ? "1" : "0"); } catch (e) { /* private mode */ }
  }
  var stored = null;
  try { stored = localStorage.getItem("ww-terms"); } catch (e) { /* private mode */ }
  setTerms(stored !== "0");
  if (termsToggle) termsToggle.addEventListener("change", function () { setTerms(termsToggle.checked); });
  if (imagesToggle) imagesToggle.addEventListener("change", function () {
    showImages(imagesToggle.checked);
    var shown = document.querySelector(".shown");
    if (shown) showPassage.apply(null, fromElement(shown));
  });
  window.wwToggleTerms = function () { setTerms(pane.classList.contains("no-terms")); };
  window.wwToggleImages = function () { if (imagesToggle) { showImages(!imagesToggle.checked); } };
})();

// --- Coding at the keyboard, without reloads ----------------------------------------------------
// j/k move between items, 1–9 tick a theme, / finds any theme by typing, Enter saves the ticked
// themes and moves on, a accepts the machine's, Shift+A accepts every suggestion of the report.
(function () {
  "use strict";
  var items = document.getElementById("items");
  if (!items) return;
  document.documentElement.classList.add("js");
  var live = document.getElementById("live");
  var finder = document.getElementById("theme-finder");
  var finderInput = document.getElementById("finder-input");
  var current = null;

  function say(text, bad) {
    if (!live) return;
    live.textContent = text;
    live.classList.toggle("bad", !!bad);
  }
  function cards() { return Array.prototype.slice.call(items.querySelectorAll(".item-card")); }

  function focusCard(card) {
    if (!card) return;
    if (current) current.classList.remove("focused");
    current = card;
    card.classList.add("focused");
    card.focus({preventScroll: true});
    card.scrollIntoView({block: "nearest"});
    if (window.wwShowPassage) {
      var text = card.querySelector(".text");
      window.wwShowPassage(card.getAttribute("data-ref"), card.getAttribute("data-page"), text ? text.textContent : "");
    }
  }
  window.wwFocusCard = focusCard;

  function move(step) {
    var all = cards();
    var i = current ? all.indexOf(current) : -1;
    var next = all[Math.max(0, Math.min(all.length - 1, i + step))];
    if (next) focusCard(next);
  }

  function progress(data) {
    var count = document.getElementById("report-count");
    if (count && data.n_items !== undefined) count.textContent = data.mine + "/" + data.n_items;
    var total = document.getElementById("coded-total");
    if (total && data.done !== undefined) total.textContent = total.textContent.replace(/^\d+/, String(data.done));
  }

  function save(form, accept) {
    var card = form.closest(".item-card");
    var data = new FormData(form);
    if (accept) data.set("accept", "1");
    card.classList.add("saving");
    return fetch(form.getAttribute("data-save"), {method: "POST", body: data, credentials: "same-origin",
                                                   headers: {"Accept": "application/json"}})
      .then(function (r) {
        if (!r.ok) throw new Error(r.status === 401 ? "your session has ended: log in again" : "not saved (" + r.status + ")");
        return r.json();
      })
      .then(function (data) {
        var wasCurrent = current === card;
        var holder = document.createElement("div");
        holder.innerHTML = data.html;
        var fresh = holder.firstElementChild;
        card.replaceWith(fresh);
        if (wasCurrent) { current = fresh; fresh.classList.add("focused"); fresh.focus({preventScroll: true}); }
        progress(data);
        say("Themes saved for this item.");
      })
      .catch(function (e) {
        card.classList.remove("saving");
        card.classList.add("failed");
        say("Item " + card.getAttribute("data-idx") + ": " + e.message, true);
      });
  }

  function saveAndNext(accept) {
    if (!current) return;
    var form = current.querySelector("form.code-form");
    if (!form) return;
    var all = cards();
    var next = all[all.indexOf(current) + 1];
    save(form, accept);
    if (next) focusCard(next);
    else say("Last item saved. Press ] for the next report.");
  }

  function toggle(n) {
    if (!current) return;
    var boxes = current.querySelectorAll(".theme-choices input[type=checkbox]");
    if (boxes[n - 1]) boxes[n - 1].checked = !boxes[n - 1].checked;
  }

  function acceptAll() {
    var form = document.getElementById("accept-all");
    if (!form) return;
    fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin"})
      .then(function (r) { if (!r.ok) throw new Error("not saved (" + r.status + ")"); return r.json(); })
      .then(function (data) {
        return fetch(location.href, {credentials: "same-origin"}).then(function (r) { return r.text(); })
          .then(function (html) {
            var doc = new DOMParser().parseFromString(html, "text/html");
            var fresh = doc.getElementById("items");
            if (fresh) items.innerHTML = fresh.innerHTML;
            current = null;
            progress(data);
            say(data.accepted + " item" + (data.accepted === 1 ? "" : "s") + " coded with the machine's suggestions.");
          });
      })
      .catch(function (e) { say(e.message, true); });
  }

  // --- type-ahead over every theme of the codebook ---
  function fold(s) { return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); }
  function visibleOptions() {
    return Array.prototype.slice.call(finder.querySelectorAll("li")).filter(function (li) { return !li.hidden; });
  }
  function filterFinder() {
    var words = fold(finderInput.value).split(/\s+/).filter(Boolean);
    var first = true;
    finder.querySelectorAll("li").forEach(function (li) {
      var hay = fold(li.getAttribute("data-label") + " " + li.getAttribute("data-q"));
      li.hidden = !words.every(function (w) { return hay.indexOf(w) >= 0; });
      li.classList.toggle("active", !li.hidden && first);
      if (!li.hidden) first = false;
    });
  }
  function openFinder() {
    if (!finder || !current || !current.querySelector("form.code-form")) return;
    finder.hidden = false;
    finderInput.value = "";
    filterFinder();
    finderInput.focus();
  }
  function closeFinder() {
    finder.hidden = true;
    if (current) current.focus({preventScroll: true});
  }
  function addTheme(li) {
    if (!li || !current) return;
    var id = li.getAttribute("data-id");
    var choices = current.querySelector(".theme-choices");
    var box = choices.querySelector('input[value="' + CSS.escape(id) + '"]');
    if (!box) {
      var label = document.createElement("label");
      label.className = "choice added";
      box = document.createElement("input");
      box.type = "checkbox";
      box.name = "theme";
      box.value = id;
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + li.getAttribute("data-label")));
      choices.appendChild(label);
    }
    box.checked = true;
    say("Added " + li.getAttribute("data-label") + ": Enter saves.");
  }
  if (finder) {
    finderInput.addEventListener("input", filterFinder);
    finderInput.addEventListener("keydown", function (ev) {
      var opts = visibleOptions();
      var at = opts.findIndex(function (li) { return li.classList.contains("active"); });
      if (ev.key === "Escape") { ev.preventDefault(); closeFinder(); }
      else if (ev.key === "Enter") { ev.preventDefault(); addTheme(opts[at]); closeFinder(); }
      else if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        if (!opts.length) return;
        if (at >= 0) opts[at].classList.remove("active");
        var k = (at + (ev.key === "ArrowDown" ? 1 : opts.length - 1)) % opts.length;
        opts[k].classList.add("active");
        opts[k].scrollIntoView({block: "nearest"});
      }
      ev.stopPropagation();
    });
    finder.addEventListener("mousedown", function (ev) {
      var li = ev.target.closest("li");
      if (li) { ev.preventDefault(); addTheme(li); closeFinder(); }
    });
  }

  // every item form saves through fetch (a click on its buttons, or Enter in its note)
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.id === "accept-all") { ev.preventDefault(); acceptAll(); return; }
    if (!form.classList || !form.classList.contains("code-form")) return;
    ev.preventDefault();
    var accept = ev.submitter && ev.submitter.name === "accept";
    var card = form.closest(".item-card");
    if (card !== current) focusCard(card);
    save(form, accept);
  });
  items.addEventListener("focusin", function (ev) {
    var card = ev.target.closest(".item-card");
    if (card && card !== current) {
      if (current) current.classList.remove("focused");
      current = card;
      card.classList.add("focused");
    }
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.metaKey || ev.ctrlKey) return;
    var t = ev.target, tag = t && t.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    var k = ev.key;
    var handled = true;
    if (k === "j") move(current ? 1 : 0);
    else if (k === "k") move(-1);
    else if (/^[1-9]$/.test(k)) toggle(parseInt(k, 10));
    else if (k === "Enter" && tag !== "BUTTON" && tag !== "A") saveAndNext(false);
    else if (k === "a") saveAndNext(true);
    else if (k === "A") acceptAll();
    else if (k === "/") openFinder();
    else if (k === "?") { var keys = document.getElementById("keys"); keys.hidden = !keys.hidden; }
    else handled = false;
    if (handled) { ev.preventDefault(); ev.stopImmediatePropagation(); }
  }, true);

  var first = cards().filter(function (c) { return !c.classList.contains("is-coded"); })[0] || cards()[0];
  if (location.hash && document.querySelector(location.hash + ".item-card")) first = document.querySelector(location.hash);
  if (first) focusCard(first);
})();
