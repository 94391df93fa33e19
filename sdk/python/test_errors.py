"""kassa's errors as the SDK raises them: the right exception class, `param`, `code` and HTTP
status, with the request's id."""

from __future__ import annotations

import pytest
import stripe

from helpers import Kassa, stripe_client, unique


@pytest.fixture(scope="module")
def usd_price() -> stripe.Price:
    product = stripe.Product.create(name=unique("Error cases"))
    return stripe.Price.create(product=product.id, unit_amount=1000, currency="usd")


def raised(call, **params) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as e:
        call(**params)
    err = e.value
    assert err.request_id and err.request_id.startswith("req_")
    assert err.error.type == "invalid_request_error"
    return err


@pytest.mark.parametrize(
    ("change", "param", "code"),
    [
        ({"line_items": [{"price": "price_nope", "quantity": 1}]}, "line_items[0][price]", "resource_missing"),
        ({"line_items": [{"price": "USD", "quantity": 0}]}, "line_items[0][quantity]", "parameter_invalid"),
        ({"line_items": [{"price": "USD", "quantity": "two"}]}, "line_items[0][quantity]", "parameter_invalid_integer"),
        (
            {
                "line_items": [
                    {"price": "USD", "quantity": 1, "adjustable_quantity": {"enabled": True, "maximum": 1000000}}
                ]
            },
            "line_items[0][adjustable_quantity][maximum]",
            "parameter_invalid",
        ),
        ({"bogus": "1"}, "bogus", "parameter_unknown"),
        ({"success_url": "not a url"}, "success_url", "url_invalid"),
        ({"customer": "cus_nope"}, "customer", "resource_missing"),
        ({"customer_email": "a@example.test", "customer": "CUS"}, "customer_email", "parameters_exclusive"),
        ({"expires_at": ""}, "expires_at", "parameter_invalid_empty"),
        ({"line_items": None, "mode": "payment"}, "line_items", "parameter_missing"),
        ({"expand": ["nope"]}, "expand", "parameter_invalid"),
    ],
)
def test_bad_session_parameters(usd_price, change, param, code):
    params = {"line_items": [{"price": usd_price.id, "quantity": 1}], "success_url": "https://shop.example/ok"}
    if change.get("customer") == "CUS":
        change = {**change, "customer": stripe.Customer.create().id}
    for item in change.get("line_items") or []:
        if item["price"] == "USD":
            item["price"] = usd_price.id
    params.update(change)
    params = {k: v for k, v in params.items() if v is not None}  # the SDK sends no `None`
    before = len(stripe.checkout.Session.list(limit=100).data)
    err = raised(stripe.checkout.Session.create, **params)
    assert (err.http_status, err.param, err.code) == (400, param, code), err.user_message
    assert len(stripe.checkout.Session.list(limit=100).data) == before, "nothing was created"


def test_catalog_errors():
    err = raised(stripe.Product.create, description="no name")
    assert (err.param, err.code) == ("name", "parameter_missing")
    err = raised(stripe.Price.create, product="prod_nope", unit_amount=100, currency="usd")
    assert (err.param, err.code) == ("product", "resource_missing")
    err = raised(stripe.Price.create, product=stripe.Product.create(name=unique("x")).id, unit_amount=1, currency="xyz")
    assert err.param == "currency"
    err = raised(stripe.Coupon.create, percent_off=10, amount_off=100, currency="usd", duration="once")
    assert err.code == "parameters_exclusive"


def test_an_unknown_object_is_a_404():
    err = raised(stripe.checkout.Session.retrieve, id="cs_test_nope")
    assert (err.http_status, err.code) == (404, "resource_missing")
    assert "cs_test_nope" in err.user_message
    err = raised(stripe.Customer.retrieve, id="cus_nope")
    assert (err.http_status, err.code) == (404, "resource_missing")


def test_a_bad_key_is_an_authentication_error(kassa: Kassa):
    bad = stripe_client(kassa.base_url, "sk_test_wrongwrongwrongwrongwrong")
    with pytest.raises(stripe.AuthenticationError) as e:
        bad.v1.products.list()
    assert e.value.http_status == 401
    assert "****" in e.value.user_message and "wrongwrong" not in e.value.user_message, "the key is masked"
    with pytest.raises(stripe.AuthenticationError):
        stripe.Product.list(api_key="sk_test_alsowrongalsowrongalsowrong")


def test_another_accounts_objects_are_unknown(kassa: Kassa):
    mine = stripe.Product.create(name=unique("mine"))
    other_key = kassa.create_account("Another shop")
    # The per-request api_key option: the same SDK, another account.
    with pytest.raises(stripe.InvalidRequestError) as e:
        stripe.Product.retrieve(mine.id, api_key=other_key)
    assert (e.value.http_status, e.value.code) == (404, "resource_missing")
    theirs = stripe.Product.create(name=unique("theirs"), api_key=other_key)
    assert [p.id for p in stripe.Product.list(api_key=other_key).data] == [theirs.id]


def test_an_endpoint_kassa_lacks_is_an_unrecognized_url():
    # Stripe can delete products; kassa cannot yet, and answers as Stripe does for a URL it does
    # not know: a 404 the SDK raises as an InvalidRequestError (a 405 would be a bare APIError).
    p = stripe.Product.create(name=unique("keep"))
    err = raised(lambda: stripe.Product.delete(p.id))
    assert err.http_status == 404
    assert err.user_message == f"Unrecognized request URL (DELETE: /v1/products/{p.id})."
    assert stripe.Product.retrieve(p.id).id == p.id
