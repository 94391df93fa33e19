// Progressive enhancement for the hosted page: everything works without this file.
// - quantity +/− and typed quantities update the order at once (POST …/quantities, JSON answer);
// - only the chosen payment method's fields are shown;
// - choosing a shipping option updates the totals at once (POST …/shipping, JSON answer);
// - changing the address's country or state updates the tax at once (POST …/address, JSON answer).
(function () {
  "use strict";
  var setText = function (id, text) { var el = document.querySelector('[data-testid="' + id + '"]'); if (el && text) { el.textContent = text; } };
  var form = document.getElementById("quantities");
  if (form) {
    var error = document.querySelector('[data-role="quantity-error"]');
    var send = function (line, quantity, input) {
      var body = new URLSearchParams();
      body.append("quantity[" + line + "]", String(quantity));
      fetch(form.action, {
        method: "POST",
        headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
        body: body.toString(),
        credentials: "same-origin"
      }).then(function (r) { return r.json(); }).then(function (s) {
        if (s.error) {
          error.textContent = s.error;
          if (input && s.lines) { s.lines.forEach(function (l) { if (l.id === line) { input.value = l.quantity; } }); }
          return;
        }
        error.textContent = "";
        s.lines.forEach(function (l) {
          var li = form.querySelector('[data-line="' + l.id + '"]');
          if (!li) { return; }
          var q = li.querySelector('[data-testid="quantity-input"]');
          if (q) { q.value = l.quantity; }
          li.querySelector('[data-role="line-total"]').textContent = l.total;
          li.hidden = l.quantity === 0;
        });
        setText("subtotal-amount", s.subtotal);
        if (s.discount) { setText("discount-amount", "−" + s.discount); }
        setText("tax-amount", s.tax);
        setText("total-amount", s.total);
        setText("submit-button", s.submit_label);
      }).catch(function () { error.textContent = form.getAttribute("data-network-error"); });
    };
    form.addEventListener("click", function (e) {
      var b = e.target.closest("button[name=step]");
      if (!b || !b.value) { return; }
      e.preventDefault();
      var parts = b.value.split(":");
      var li = b.closest("li");
      var input = li.querySelector('[data-testid="quantity-input"]');
      var next = parseInt(input.value, 10) + parseInt(parts[1], 10);
      if (isNaN(next)) { return; }
      input.value = next;
      send(parts[0], next, input);
    });
    form.addEventListener("change", function (e) {
      var input = e.target;
      if (input.getAttribute("data-testid") !== "quantity-input") { return; }
      var li = input.closest("li");
      send(li.getAttribute("data-line"), parseInt(input.value, 10), input);
    });
    form.addEventListener("submit", function (e) {
      // Enter in a quantity field: update that field instead of a full reload.
      var input = document.activeElement;
      if (input && input.getAttribute("data-testid") === "quantity-input") {
        e.preventDefault();
        send(input.closest("li").getAttribute("data-line"), parseInt(input.value, 10), input);
      }
    });
  }
  var payForm = document.querySelector("form.pay");
  // The server could not be reached: say so in the page's language, and offer the no-JS button.
  var offline = function (button) {
    button.hidden = false;
    var el = document.querySelector('[data-testid="payment-error"]');
    if (el && payForm) { el.textContent = payForm.getAttribute("data-network-error"); }
  };
  // "Billing address same as shipping": the billing fields hide while it is checked (the server
  // copies the shipping address over them).
  var same = document.querySelector('[data-testid="billing-same-as-shipping"]');
  var billingFields = document.querySelector('[data-role="billing-fields"]');
  if (same && billingFields) {
    var syncBilling = function () { billingFields.hidden = same.checked; };
    same.addEventListener("change", syncBilling);
    syncBilling();
  }
  var ship = document.querySelector('[data-testid="shipping-options"]');
  if (ship) {
    var update = ship.querySelector('[data-testid="shipping-update"]');
    var payError = document.querySelector('[data-testid="payment-error"]');
    update.hidden = true;
    ship.addEventListener("change", function (e) {
      var r = e.target;
      if (r.name !== "shipping_rate") { return; }
      var body = new URLSearchParams();
      body.append("shipping_rate", r.value);
      fetch(update.getAttribute("formaction"), {
        method: "POST",
        headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
        body: body.toString(),
        credentials: "same-origin"
      }).then(function (x) { return x.json(); }).then(function (s) {
        if (!s.total) { update.hidden = false; return; }
        setText("shipping-amount", s.shipping);
        setText("tax-amount", s.tax);
        setText("total-amount", s.total);
        setText("submit-button", s.submit_label);
        payError.textContent = "";
      }).catch(function () { offline(update); });
    });
  }
  var taxUpdate = document.querySelector('[data-testid="tax-update"]');
  if (taxUpdate) {
    taxUpdate.hidden = true;
    var names = ["shipping_country", "shipping_state", "address_country", "address_state"];
    document.addEventListener("change", function (e) {
      if (names.indexOf(e.target.name) < 0) { return; }
      var body = new URLSearchParams();
      names.forEach(function (n) { var el = document.querySelector('[name="' + n + '"]'); if (el) { body.append(n, el.value); } });
      fetch(taxUpdate.getAttribute("formaction"), {
        method: "POST",
        headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
        body: body.toString(),
        credentials: "same-origin"
      }).then(function (x) { return x.json(); }).then(function (s) {
        if (!s.total) { taxUpdate.hidden = false; return; }
        setText("tax-amount", s.tax);
        setText("total-amount", s.total);
        setText("submit-button", s.submit_label);
      }).catch(function () { offline(taxUpdate); });
    });
  }
  var card = document.querySelector('[data-method="card"]');
  var radios = document.querySelectorAll('input[name="payment_method"]');
  var sync = function () {
    var chosen = document.querySelector('input[name="payment_method"]:checked');
    if (card) { card.hidden = !!chosen && chosen.value !== "card"; }
  };
  Array.prototype.forEach.call(radios, function (r) { r.addEventListener("change", sync); });
  sync();
})();
