/* Accessible names that contain the visible label (WCAG 2.1, 2.5.3 Label in Name),
 * checked by axe-core's label-content-name-mismatch rule in tests/test_browser.py.
 * Jupyter Book 1 adds every *.js file under _static/ to every page by itself.
 *
 * The theme's markup cannot be reached from CSS, and this book overrides no templates:
 *
 * - The search buttons (pydata-sphinx-theme's search-button-field) show
 *   "Search Ctrl+K" but carry aria-label="Search", so the visible shortcut is
 *   not part of their name. Without the aria-label a button is named by its
 *   content, "Search Ctrl+K", which is what a sighted user sees.
 * - myst-nb's "Show code cell source" toggles of hide-input cells are <summary>
 *   elements named "Toggle hidden content" by an aria-label; without it they are
 *   named by the visible text, "Show code cell source".
 * - The colour-mode button shows the icon of the current mode, and that icon is
 *   labelled "Light", "Dark" or "System Settings" (its SVG title), while the button
 *   is named "Color mode". It becomes "Color mode: <that label>", kept up to date
 *   when the button switches modes (which sets <html data-mode>).
 */
(() => {
  "use strict";

  function modeLabel(button, mode) {
    const icon = button.querySelector(`.theme-switch[data-mode="${mode}"]`);
    if (!icon) return mode;
    const title = icon.getAttribute("title") || icon.querySelector("title")?.textContent;
    return (title || mode).trim();
  }

  function labelThemeButtons() {
    const mode = document.documentElement.dataset.mode || "auto";
    for (const button of document.querySelectorAll(".theme-switch-button")) {
      button.setAttribute("aria-label", `Color mode: ${modeLabel(button, mode)}`);
    }
  }

  function fix() {
    for (const button of document.querySelectorAll(".search-button-field[aria-label]")) {
      button.removeAttribute("aria-label");
    }
    for (const summary of document.querySelectorAll('summary[aria-label="Toggle hidden content"]')) {
      summary.removeAttribute("aria-label");
    }
    labelThemeButtons();
    new MutationObserver(labelThemeButtons).observe(document.documentElement, {
      attributes: true,
      attributeFilter: ["data-mode"],
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fix);
  } else {
    fix();
  }
})();
