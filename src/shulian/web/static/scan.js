/* The scan page: read an ISBN (EAN-13) or a library label with the phone's camera, then open
   /scan/<code>, which finds the record. Uses the vendored @zxing/browser bundle (ZXingBrowser). */
(function () {
  "use strict";
  var box = document.getElementById("camera");
  if (!box) return;
  var video = document.getElementById("scan-video");
  var start = document.getElementById("scan-start");
  var stop = document.getElementById("scan-stop");
  var status = document.getElementById("scan-status");
  var controls = null;

  function say(text) { status.textContent = text; status.hidden = !text; }

  function supported() {
    return window.ZXingBrowser && window.isSecureContext &&
      navigator.mediaDevices && navigator.mediaDevices.getUserMedia;
  }

  function halt() {
    if (controls) { controls.stop(); controls = null; }
    video.hidden = true; stop.hidden = true; start.hidden = false;
  }

  start.addEventListener("click", function () {
    if (!supported()) { say(box.dataset.msgUnsupported); return; }
    var reader = new window.ZXingBrowser.BrowserMultiFormatReader();
    video.hidden = false; start.hidden = true; stop.hidden = false; say("");
    reader.decodeFromVideoDevice(undefined, video, function (result, _err, ctl) {
      if (!result) return;
      ctl.stop();
      window.location.href = box.dataset.openUrl + encodeURIComponent(result.getText().trim());
    }).then(function (ctl) { controls = ctl; }, function () {
      halt(); say(box.dataset.msgDenied);
    });
  });
  stop.addEventListener("click", halt);
  window.addEventListener("pagehide", halt);
})();
