/* Behaviour every page shares, kept out of the templates: the pages' Content-Security-Policy
   allows no inline script or event handler (onclick=, onchange=...).

   - <select data-autosubmit>: choosing an option submits its form (the search page's sort). */
(function () {
  "use strict";
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el && el.matches && el.matches("select[data-autosubmit]") && el.form) {
      el.form.submit();
    }
  });
})();
