/* The circulation desk: after each scan (an htmx post), play a short sound, green for done and
   red for refused, unless the desk is muted; then clear the box for the next scan. The sounds are
   made with the Web Audio API, so no audio files are needed. */
(function () {
  "use strict";
  var KEY = "shulian.desk.muted";
  var desk = document.querySelector("[data-testid=desk]");
  if (!desk) return;
  var mute = document.getElementById("desk-mute");
  var audio = null;

  function muted() {
    try { return window.localStorage.getItem(KEY) === "1"; } catch (e) { return false; }
  }

  function showMute() {
    if (!mute) return;
    var off = muted();
    mute.setAttribute("aria-pressed", off ? "true" : "false");
    mute.textContent = off ? mute.dataset.labelMuted : mute.dataset.labelSound;
  }

  // Browsers let a page make sound only after a gesture: start the audio on the first key or tap.
  function context() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!audio) audio = new Ctx();
    if (audio.state === "suspended") audio.resume();
    return audio;
  }

  function tone(ac, freq, start, length, type) {
    var osc = ac.createOscillator();
    var gain = ac.createGain();
    osc.type = type;
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.25, start + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + length);
    osc.connect(gain);
    gain.connect(ac.destination);
    osc.start(start);
    osc.stop(start + length + 0.02);
  }

  function play(outcome) {
    // What was (or would have been) played, for people and tests checking the desk.
    document.documentElement.dataset.deskSound = muted() ? "muted" : outcome;
    if (muted()) return;
    var ac = context();
    if (!ac) return;
    var t = ac.currentTime + 0.01;
    if (outcome === "ok") {  // two rising notes
      tone(ac, 880, t, 0.12, "sine");
      tone(ac, 1320, t + 0.13, 0.2, "sine");
    } else {  // two low buzzes
      tone(ac, 220, t, 0.22, "square");
      tone(ac, 147, t + 0.25, 0.35, "square");
    }
  }

  function log() { return document.getElementById("desk-log"); }

  function failed() {
    var list = log();
    if (!list) return;
    var li = document.createElement("li");
    li.className = "result refused";
    li.dataset.outcome = "refused";
    li.setAttribute("data-testid", "desk-result");
    li.textContent = desk.dataset.msgFailed;
    list.insertBefore(li, list.firstChild);
    play("refused");
  }

  if (mute) {
    showMute();
    mute.addEventListener("click", function () {
      try { window.localStorage.setItem(KEY, muted() ? "0" : "1"); } catch (e) { /* private mode */ }
      showMute();
    });
  }
  document.addEventListener("keydown", context, { once: true });
  document.addEventListener("pointerdown", context, { once: true });

  if (window.htmx) {
    // A refusal (409, 403, 404...) is an answer to show, not a failure to hide.
    window.htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "4..", swap: true, error: false },
      { code: "...", swap: false, error: true }
    ];
  }
  document.body.addEventListener("htmx:afterSwap", function (e) {
    var list = log();
    if (!list || e.detail.target !== list || !list.firstElementChild) return;
    play(list.firstElementChild.dataset.outcome);
  });
  document.body.addEventListener("htmx:afterRequest", function (e) {
    var form = e.detail.elt;
    if (!form || !form.matches || !form.matches("form[data-desk-scan]")) return;
    var box = form.querySelector("input[name=barcode]");
    box.value = "";
    box.focus();
  });
  document.body.addEventListener("htmx:sendError", failed);
  document.body.addEventListener("htmx:responseError", failed);

  // Answered with the whole page (no htmx): sound the result shown, if the browser allows it.
  var first = log() && log().firstElementChild;
  if (first && first.dataset.outcome) play(first.dataset.outcome);
})();
