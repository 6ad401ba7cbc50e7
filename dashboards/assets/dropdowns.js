/* Accessible names and roles for Dash 4's dropdown popup (dcc.Dropdown), which we cannot change
 * in its source.
 *
 * Open, the popup is an unnamed dialog holding an unnamed listbox whose options are <label
 * role="option"> elements wrapping a focusable radio button; arrow keys move the focus from
 * radio to radio. Screen readers then meet an option inside an option-like control (axe:
 * nested-interactive) in a list without a name (aria-input-field-name). What the user really
 * operates is a group of radio buttons, so it is announced as one: the list becomes a
 * radiogroup (a group for multi-select checkboxes), the labels lose their option role, and
 * popup and group are named by the filter's visible <label> (id "<dropdown id>-label", see
 * dashboards/layout.py). The trigger button says it opens a dialog rather than a listbox.
 *
 * React leaves attributes alone that its own props do not change, and the popup is rebuilt on
 * every opening, so a MutationObserver applies this whenever the popup appears or changes. */
(function () {
  "use strict";

  function labelId(wrapper) {
    const button = wrapper.querySelector("button.dash-dropdown[id]");
    if (!button) {
      return null;
    }
    if (button.getAttribute("aria-haspopup") === "listbox") {
      button.setAttribute("aria-haspopup", "dialog");
    }
    const label = document.getElementById(button.id + "-label");
    return label ? label.id : null;
  }

  function name(element, id) {
    if (id && element.getAttribute("aria-labelledby") !== id) {
      element.setAttribute("aria-labelledby", id);
    }
  }

  function fix(wrapper) {
    const id = labelId(wrapper);
    wrapper.querySelectorAll(".dash-dropdown-content").forEach(function (popup) {
      name(popup, id);
    });
    wrapper.querySelectorAll('.dash-options-list[role="listbox"]').forEach(function (list) {
      const multi = list.querySelector('input[type="checkbox"]') !== null;
      list.setAttribute("role", multi ? "group" : "radiogroup");
    });
    wrapper.querySelectorAll(".dash-options-list").forEach(function (list) {
      name(list, id);
    });
    wrapper.querySelectorAll('.dash-options-list-option[role="option"]').forEach(function (option) {
      option.removeAttribute("role");
    });
    wrapper.querySelectorAll(".dash-options-list-option[aria-selected]").forEach(function (option) {
      option.removeAttribute("aria-selected");
    });
  }

  function fixAll() {
    document.querySelectorAll(".dash-dropdown-wrapper").forEach(fix);
  }

  function start() {
    fixAll();
    new MutationObserver(fixAll).observe(document.body, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ["role", "aria-selected", "aria-haspopup"],
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
