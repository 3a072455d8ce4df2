// The members' page's one script: passkeys (WebAuthn) for enrolment, sign-in and changes.
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

  // Enrolment: the device makes a passkey, then the passkey signs its own enrolment (the
  // event that records it), as it will sign every change.
  async function enrol(form) {
    var verify = form.getAttribute("action");
    var options = await post(verify.replace(/\/verify$/, "/options"), {});
    var created = await navigator.credentials.create({
      publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)
    });
    var asked = await post(verify, { credential: created.toJSON() });
    say("Now confirm the enrolment with the new passkey...");
    var got = await navigator.credentials.get({
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(asked.sign)
    });
    var done = await post(verify.replace(/\/verify$/, "/confirm"), { credential: got.toJSON() });
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

  // A change (a vote, your details, a proposal): the server makes it, undoes it, and asks the
  // passkey to sign the record it would write; the form then goes with that signature.
  async function change(form) {
    var fields = {};
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrf" && name !== "assertion") { fields[name] = value; }
    });
    var options = await post(form.getAttribute("data-options"), fields);
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
