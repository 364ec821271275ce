"""The conformance kit: the checks every adapter passes, built-in or third-party.

An adapter is only as good as its promises: its status table covers every
status its API documents, the capabilities it declares work and the others
refuse loudly, a listing resumed from a cursor misses and repeats nothing,
and what it hands the core survives validation both ways. This package holds
those checks as two pytest base classes (and as plain functions in
:mod:`aftersales.testing.checks` for other test runners). Importing
``aftersales`` does not import this package; it needs pytest.

Marketplace adapters
--------------------
Subclass :class:`MarketplaceConformance` in a test module whose name pytest
collects, and give it a ``marketplace`` fixture that builds the adapter
wired to a fake of its API. The fixture is built afresh for every check, so
a stateful fake starts clean each time::

    import pytest
    import responses
    from aftersales.testing import MarketplaceConformance
    from aftersales_foo import FooMarketplace, FooSettings

    class TestFooConformance(MarketplaceConformance):
        adapter_class = FooMarketplace   # the status-table check needs no instance
        min_pages = 3                    # each declared listing must serve >= 3 pages
        max_page_size = 50               # the documented page size (default: unchecked)

        @pytest.fixture
        def marketplace(self):
            with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
                install_fake_foo_api(rsps)     # answers every call the checks make
                yield FooMarketplace(FooSettings(token="t"))

What runs (one pytest item per line):

* ``test_is_a_marketplace``: the adapter satisfies the ``Marketplace``
  protocol, has a name and declares only marketplace capabilities;
* ``test_every_raw_return_status_maps``: every status in the class's
  ``raw_return_statuses`` maps to a :class:`~aftersales.models.ReturnStatus`
  through the class's ``map_return_status(raw)`` or its
  ``return_status_table`` mapping (or the hooks of the same names here);
* ``test_capability[<capability>]`` for each of the twelve marketplace
  capabilities: a declared one is called with samples and must return what
  the interface promises (models that round-trip through ``model_dump`` and
  JSON with no negative amount and one currency per model, a refund with ``external_id`` paying the
  amount and currency it was asked, a reply id, an approval that can be
  sent twice or, refused the second time, shows done through
  ``get_return``); an undeclared one must
  raise :class:`~aftersales.errors.UnsupportedOperationError` naming the
  adapter;
* ``test_listing_resumes_from_every_cursor[<listing>]``: for each declared
  listing (orders, returns, reviews), the whole listing is read, then
  resumed from every page's cursor; what comes back must be exactly what
  followed that page. The fake must serve at least ``min_pages`` pages with
  items, none over ``max_page_size`` when set, and the items must
  round-trip. Make the fake's data hard: items that share a change time
  across a page boundary, and the newest item at the very end of the
  listed span, are where resumable cursors usually break (a hypothesis
  test calling :func:`check_resume` over random data finds such bugs
  quickly).

The samples default to the adapter's own listings (the first return request
listed is the one approved, rejected and refunded; the first review listed
is the one answered), so the fake only needs to accept actions on objects it
served. Override :meth:`MarketplaceConformance.samples` to choose others, for
instance a different request per capability for a stateful fake.

Carrier (tracking-provider) adapters
------------------------------------
Subclass :class:`CarrierConformance` and give it a ``carrier`` fixture::

    class TestBarConformance(CarrierConformance):
        adapter_class = BarCarrier   # with raw_parcel_statuses and a status table

        @pytest.fixture
        def carrier(self): ...

        def track_queries(self, carrier):     # batch_size + 1 numbers the fake knows
            return [TrackQuery(number=n) for n in KNOWN_NUMBERS[: carrier.batch_size + 1]]

        def make_push(self, kind):            # "good", "bad" or "missing" signature
            return body, headers

It checks that every code in ``raw_parcel_statuses`` maps to a
:class:`~aftersales.models.ParcelStatus` (``map_parcel_status(raw)`` or
``parcel_status_table`` on the class, or the hooks here), that each of
detect / track / push works when declared and raises
``UnsupportedOperationError`` when not, that ``track`` answers one result
per query, in the queries' order and for no other number, for a full batch
of ``batch_size`` and either refuses a larger batch (``ValidationError``, or
the provider's ``RemoteRejectedError``) or still answers every query, and
that a push with a bad or missing signature raises
:class:`~aftersales.errors.SignatureError` while a good one parses.

Without pytest
--------------
:func:`~aftersales.testing.checks.check_status_mapping`,
:func:`~aftersales.testing.checks.check_capability_declared`,
:func:`~aftersales.testing.checks.check_capability_undeclared`,
:func:`~aftersales.testing.checks.check_resume`,
:func:`~aftersales.testing.checks.check_round_trip`,
:func:`~aftersales.testing.checks.check_track_batch` and
:func:`~aftersales.testing.checks.check_push` raise ``AssertionError`` with a
message naming what is wrong. A model that does not validate again (built
with ``model_construct``: a naive datetime, a float or NaN amount, a status
outside the enum, an id that is not text) fails as an ``AssertionError``
naming the model, its id and each bad field.
"""

from __future__ import annotations

from aftersales.testing.carrier import CarrierConformance, PushKind
from aftersales.testing.checks import (
    CARRIER_CAPABILITIES,
    LISTINGS,
    MARKETPLACE_CAPABILITIES,
    check_capability_declared,
    check_capability_undeclared,
    check_push,
    check_resume,
    check_round_trip,
    check_status_mapping,
    check_track_batch,
)
from aftersales.testing.marketplace import MarketplaceConformance
from aftersales.testing.samples import (
    CarrierSamples,
    MarketplaceSamples,
    default_marketplace_samples,
)
from aftersales.testing.timing_safe import digest_comparisons

__all__ = [
    "CARRIER_CAPABILITIES",
    "LISTINGS",
    "MARKETPLACE_CAPABILITIES",
    "CarrierConformance",
    "CarrierSamples",
    "MarketplaceConformance",
    "MarketplaceSamples",
    "PushKind",
    "check_capability_declared",
    "check_capability_undeclared",
    "check_push",
    "check_resume",
    "check_round_trip",
    "check_status_mapping",
    "check_track_batch",
    "default_marketplace_samples",
    "digest_comparisons",
]
