// The members' page's one script: passkeys (WebAuthn) for enrolment, sign-in and votes.
// Served by swp itself; the page's Content-Security-Policy allows no other script.
"use strict";

(function () {
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function say(text) {
    var status = document.getElementById("status");
    if (status) { status.textContent = text; }
  }

  async function post(url, body) {
    var response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body || {})
    });
    var data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    if (!response.ok) { throw new Error(data.error || ("the server answered " + response.status)); }
    return data;
  }

  function supported() {
    return window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON;
  }

  async function enrol(form) {
    var options = await post(form.getAttribute("action").replace(/\/verify$/, "/options"), {});
    var created = await navigator.credentials.create({
      publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)
    });
    var done = await post(form.getAttribute("action"), { credential: created.toJSON() });
    window.location.assign(done.redirect || "/");
  }

  async function signin(form) {
    var handle = form.querySelector('[name="handle"]').value.trim().toLowerCase();
    var options = await post("/signin/options", { handle: handle });
    var got = await navigator.credentials.get({
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options)
    });
    var done = await post("/signin/verify", { handle: handle, credential: got.toJSON() });
    window.location.assign(done.redirect || "/");
  }

  async function change(form) {
    var chosen = form.querySelector('[name="choice"]:checked');
    if (!chosen) { throw new Error("choose yes, no or abstain first"); }
    var options = await post(form.getAttribute("data-options"), { choice: chosen.value });
    var got = await navigator.credentials.get({
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options)
    });
    form.querySelector('[name="assertion"]').value = JSON.stringify(got.toJSON());
    form.submit();
  }

  var actions = { enrol: enrol, signin: signin, change: change };

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-passkey]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (!supported()) {
          say("This browser cannot use passkeys: use an up-to-date browser.");
          return;
        }
        say("Waiting for your passkey...");
        actions[form.getAttribute("data-passkey")](form).catch(function (error) {
          say("Not done: " + (error && error.message ? error.message : error));
        });
      });
    });
  });
})();
