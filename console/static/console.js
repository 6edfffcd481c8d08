// When the console itself cannot be reached, a live part of the page says so in words instead of going quiet.
(function () {
  "use strict";
  document.addEventListener("htmx:sendError", function () {
    let banner = document.getElementById("offline");
    if (!banner) {
      banner = document.createElement("p");
      banner.id = "offline";
      banner.className = "problem";
      banner.setAttribute("role", "alert");
      document.getElementById("main").prepend(banner);
    }
    banner.textContent = "The console does not answer; what you see may be out of date. It keeps trying.";
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const banner = document.getElementById("offline");
    if (banner && event.detail.xhr && event.detail.xhr.status) banner.remove();
  });
})();
