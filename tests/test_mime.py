"""The prepared edition against the full composition: the same bytes for every recipient, odd ones included."""

from __future__ import annotations

import base64
import dataclasses
import datetime
import email
import email.policy
import re
from collections.abc import Iterator
from email import quoprimime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadsheet.delivery.personalize import Signer, recipient
from broadsheet.delivery.store import Subscriber
from broadsheet.delivery.transports import Batch, Outcome, Recipient, mime
from broadsheet.delivery.transports.mime import PreparedMessage, compose, prepare
from broadsheet.delivery.transports.outbox import OutboxTransport
from broadsheet.delivery.transports.smtp import SMTPTransport
from broadsheet.model import PREFERENCES_PLACEHOLDER, UNSUBSCRIBE_PLACEHOLDER
from broadsheet.pipeline import editions
from broadsheet.render import Email
from broadsheet.settings import Project, find_project, load_settings

from .serving import smtp_server
from .support import REPO, SAMPLE, Mailbox

SIGNER = Signer("a-long-random-test-secret")
NOW = datetime.datetime(2026, 12, 1, 15, 4, 5, tzinfo=datetime.UTC)

ODD_NAMES = [
    "",
    "Ko Ko",
    "ကိုကို",
    "Daw Aung San Suu Kyi ဒေါ်အောင်ဆန်းစုကြည်",
    "Ko, Ko",
    'Daw "Su" \\ (Yangon) <office>',
    "=?utf-8?q?x=0D=0AReply-To:_attacker@evil.example?=",
    "=?utf-8?b?4YCA4YCt4YCv?=",
    "Support Team, attacker@evil.example, " + "x" * 60,
    " မ" * 200,
    "A" * 1000,
    "Zoë Ångström",
    " leading and trailing ",
    "tab\there",
    "line\nbreak",
]
ODD_ADDRESSES = ["ko.ko@example.com", "ko@မြန်မာ.example", "Reader+tag@Example.ORG", '"odd local"@example.com']

# Names and values: any text, with the characters that matter to headers and encodings drawn more often.
TEXT = st.text(st.one_of(st.characters(), st.sampled_from(list(' ,"\\()<>=?_\t@.;:မြန်မာé'))), max_size=120)


class _Frozen(datetime.datetime):
    @classmethod
    def now(cls, tz: datetime.tzinfo | None = None) -> _Frozen:
        return cls.fromtimestamp(NOW.timestamp(), tz)


@pytest.fixture(autouse=True)
def frozen_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both paths write the Date of the moment; one moment, for comparing bytes."""
    monkeypatch.setattr(mime, "datetime", _Frozen)


@pytest.fixture(scope="module")
def project() -> Project:
    return find_project(REPO)


@pytest.fixture(scope="module")
def sample_editions(project: Project) -> dict[str, Email]:
    """The sample issue rendered for each locale, as a send renders it."""
    return editions(project, SAMPLE).emails


def copy(
    project: Project,
    number: int,
    name: str = "Reader",
    address: str = "reader@example.org",
    locale: str = "en",
) -> Recipient:
    reader = Subscriber(
        id=number, email=address, email_key=address.lower(), name=name, locale=locale, status="active"
    )
    return recipient(reader, "2023-12-21", project.settings, SIGNER)


def edition_batch(project: Project, email: Email, recipients: list[Recipient]) -> Batch:
    return Batch(
        issue="2023-12-21",
        locale=email.locale,
        subject=email.subject,
        html=email.html,
        text=email.text,
        sender=project.settings.sender,
        reply_to=project.settings.reply_to or None,
        recipients=recipients,
    )


def composed(batch: Batch, copy: Recipient, boundary: str) -> bytes:
    """The reference: the full composition, with the prepared message's boundary (the generator draws one at random)."""
    message = compose(batch, copy)
    message.set_boundary(boundary)
    return message.as_bytes()


def without_boundary(data: bytes) -> bytes:
    """`data` with its own multipart boundary replaced by a fixed word."""
    found = re.search(rb'boundary="([^"]+)"', data)
    assert found is not None
    return data.replace(found.group(1), b"BOUNDARY")


def assert_same_copy(prepared: PreparedMessage, batch: Batch, copy: Recipient) -> None:
    """Both paths give the same bytes, or both refuse with the same error."""
    try:
        expected = without_boundary(compose(batch, copy).as_bytes())
    except ValueError as exc:
        with pytest.raises(type(exc), match=re.escape(str(exc))):
            prepared.message_bytes(copy)
        return
    assert without_boundary(prepared.message_bytes(copy)) == expected


def assert_filled_in(prepared: PreparedMessage, batch: Batch, copy: Recipient) -> None:
    """The prepared message gives the composed bytes without composing: it filled the copy in."""
    expected = composed(batch, copy, prepared.boundary)

    def forbidden(batch: Batch, copy: Recipient) -> None:
        raise AssertionError(f"composed whole: {copy}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mime, "compose", forbidden)
        assert prepared.message_bytes(copy) == expected


def test_a_sender_named_with_a_comma_is_one_quoted_mailbox(
    project: Project, sample_editions: dict[str, Email], tmp_path: Path
) -> None:
    path = tmp_path / "broadsheet.toml"
    path.write_text('sender = "Progressive Voice, Myanmar <newsletter@example.org>"\n', encoding="utf-8")
    sender = load_settings(path).sender
    assert sender == '"Progressive Voice, Myanmar" <newsletter@example.org>'
    batch = dataclasses.replace(edition_batch(project, sample_editions["en"], []), sender=sender)
    reader = copy(project, 1)
    data = compose(batch, reader).as_bytes()
    assert data.startswith(b'From: "Progressive Voice, Myanmar" <newsletter@example.org>\r\n')
    [author] = email.message_from_bytes(data, policy=email.policy.default)["From"].addresses
    assert (author.display_name, author.addr_spec) == ("Progressive Voice, Myanmar", "newsletter@example.org")
    assert_same_copy(prepare(dataclasses.replace(batch, recipients=[reader])), batch, reader)


@pytest.mark.parametrize("locale", ["en", "my"])
def test_prepared_copies_are_byte_for_byte_the_composed_ones(
    project: Project, sample_editions: dict[str, Email], locale: str
) -> None:
    recipients = [
        copy(project, number, name, "reader@example.org", locale)
        for number, name in enumerate(ODD_NAMES, start=1)
    ]
    recipients += [
        copy(project, 100 + number, "Reader", address, locale) for number, address in enumerate(ODD_ADDRESSES)
    ]
    batch = edition_batch(project, sample_editions[locale], recipients)
    prepared = prepare(batch)
    for reader in recipients:
        assert_same_copy(prepared, batch, reader)
        if reader.name.isprintable() and '"' not in reader.address and len(reader.name) < 990:
            assert_filled_in(prepared, batch, reader)


@pytest.mark.parametrize("locale", ["en", "my"])
@pytest.mark.parametrize("length", [0, 1, 70, 76, 77, 78, 79, 300, 1200])
def test_unsubscribe_links_of_any_length_are_encoded_as_composed(
    project: Project, sample_editions: dict[str, Email], locale: str, length: int
) -> None:
    """The links fall in the HTML's one long quoted-printable line: every length moves its soft line breaks."""
    link = "https://news.example.org/leave/" + "a=b&c" * (length // 5) + "x" * (length % 5)
    reader = dataclasses.replace(
        copy(project, 7, "Ko Ko", locale=locale),
        substitutions={UNSUBSCRIBE_PLACEHOLDER: link, PREFERENCES_PLACEHOLDER: link + "/preferences"},
        headers={"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    batch = edition_batch(project, sample_editions[locale], [reader])
    prepared = prepare(batch)
    if length < 900:
        assert_filled_in(prepared, batch, reader)
    assert_same_copy(prepared, batch, reader)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=TEXT, locale=st.sampled_from(["en", "my"]), number=st.integers(min_value=1, max_value=10**9))
def test_any_name_gives_the_composed_copy(
    project: Project, sample_editions: dict[str, Email], name: str, locale: str, number: int
) -> None:
    reader = copy(project, number, name, locale=locale)
    batch = edition_batch(project, sample_editions[locale], [reader])
    assert_same_copy(prepare(batch), batch, reader)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(unsubscribe=TEXT, preferences=TEXT, locale=st.sampled_from(["en", "my"]))
def test_any_substituted_values_give_the_composed_copy(
    project: Project, sample_editions: dict[str, Email], unsubscribe: str, preferences: str, locale: str
) -> None:
    reader = dataclasses.replace(
        copy(project, 3, "Ma Ma", locale=locale),
        substitutions={UNSUBSCRIBE_PLACEHOLDER: unsubscribe, PREFERENCES_PLACEHOLDER: preferences},
        headers={
            "List-Unsubscribe": f"<{UNSUBSCRIBE_PLACEHOLDER}>",
            "X-Preferences": PREFERENCES_PLACEHOLDER,
        },
    )
    batch = edition_batch(project, sample_editions[locale], [reader])
    assert_same_copy(prepare(batch), batch, reader)


# Templates: short and long lines, spaces and tabs at line ends, escapes, Burmese, and the placeholders anywhere.
PIECE = st.one_of(
    st.text(st.sampled_from(list("ab =\t.-\r\nမé")), max_size=40),
    st.sampled_from(
        ["x" * 90, "=" * 30, "မြန်မာ" * 12, " " * 80, UNSUBSCRIBE_PLACEHOLDER, PREFERENCES_PLACEHOLDER]
    ),
)
TEMPLATE = st.lists(PIECE, max_size=30).map("".join)
SUBJECT = st.lists(
    st.one_of(st.text(st.sampled_from(list("ab =\tမé")), max_size=40), st.just(UNSUBSCRIBE_PLACEHOLDER)),
    max_size=5,
).map("".join)
VALUE = st.text(st.sampled_from(list("ab =\t%/:.မ")), max_size=160)


@settings(max_examples=300, deadline=None)
@given(html=TEMPLATE, text=TEMPLATE, subject=SUBJECT, unsubscribe=VALUE, preferences=VALUE)
def test_any_edition_gives_the_composed_copy(
    html: str, text: str, subject: str, unsubscribe: str, preferences: str
) -> None:
    """Each transfer encoding (7bit, quoted-printable, base64), chosen as `compose` chooses it."""
    reader = Recipient(
        address="ko@example.org",
        name="Ko Ko",
        message_id="<2023-12-21.1.abc@news.example.org>",
        substitutions={UNSUBSCRIBE_PLACEHOLDER: unsubscribe, PREFERENCES_PLACEHOLDER: preferences},
        headers={"List-Unsubscribe": f"<{UNSUBSCRIBE_PLACEHOLDER}>"},
    )
    batch = Batch("2023-12-21", "my", subject, html, text, "News <news@example.org>", None, [reader])
    prepared = PreparedMessage(batch)
    assert_same_copy(prepared, batch, reader)


@given(
    value=st.text(
        st.one_of(
            st.characters(exclude_categories=["Cs"]), st.sampled_from(list("az09 =\t%&?/:.~<>\x7f\x00"))
        ),
        max_size=60,
    )
)
def test_a_value_is_escaped_as_the_quoted_printable_encoder_escapes_it(value: str) -> None:
    """Links (printable ASCII, `=` in their query) take a shorter way than other text: the same bytes."""
    expected = "".join(
        quoprimime.quote(character) if quoprimime.body_check(ord(character)) else character
        for character in value.encode("utf-8").decode("latin-1")
    )
    assert mime._quote(value) == expected.encode("ascii")


@pytest.mark.parametrize("locale", ["en", "my"])
def test_copies_share_the_encoded_edition_instead_of_copying_it(
    project: Project, sample_editions: dict[str, Email], locale: str
) -> None:
    """A copy is the edition's encoded text with a few pieces of its own: writing the pieces spares copying the
    whole message per recipient. The pieces are the copy's bytes."""
    readers = [copy(project, 1, "Ko Ko", locale=locale), copy(project, 22, "ကိုကို", locale=locale)]
    batch = edition_batch(project, sample_editions[locale], readers)
    prepared = prepare(batch)
    first, second = (prepared.message_pieces(reader) for reader in readers)
    assert b"".join(first) == composed(batch, readers[0], prepared.boundary)
    assert b"".join(second) == composed(batch, readers[1], prepared.boundary)
    shared = {id(piece) for piece in first} & {id(piece) for piece in second}
    own = sum(len(piece) for piece in second if id(piece) not in shared)
    assert own < len(b"".join(second)) / 10


@pytest.mark.parametrize(
    ("locale", "encodings"),
    [("en", ["quoted-printable", "quoted-printable"]), ("my", ["base64", "base64"])],
)
def test_each_part_takes_the_shorter_of_quoted_printable_and_base64(
    project: Project, sample_editions: dict[str, Email], locale: str, encodings: list[str]
) -> None:
    """Python's content manager chose by the first ten lines, ASCII <head> for the HTML: each UTF-8 byte of the
    Burmese HTML became =XX, 70 KB on the wire where base64 takes 58 KB."""
    reader = copy(project, 1, "Ko Ko", locale=locale)
    batch = edition_batch(project, sample_editions[locale], [reader])
    message = compose(batch, reader)
    parts = list(message.iter_parts())
    assert [part["Content-Transfer-Encoding"] for part in parts] == encodings
    for part in parts:
        lines = part.get_content().encode("utf-8").splitlines()
        quoted = quoprimime.body_encode(b"".join(line + b"\n" for line in lines).decode("latin-1"), 78)
        encoded = base64.encodebytes(b"".join(line + b"\r\n" for line in lines))
        assert len(part.get_payload()) == min(len(quoted), len(encoded))
    assert_filled_in(prepare(batch), batch, reader)


def test_batches_of_one_edition_share_one_prepared_message(
    project: Project, sample_editions: dict[str, Email]
) -> None:
    first = edition_batch(project, sample_editions["my"], [copy(project, 1)])
    second = edition_batch(project, sample_editions["my"], [copy(project, 2)])
    other = dataclasses.replace(second, subject="Another subject")
    assert prepare(first) is prepare(second)
    assert prepare(other) is not prepare(first)


# --- the transports write the same bytes ---------------------------------------------------------


def sample_batch(project: Project, sample_editions: dict[str, Email], locale: str) -> Batch:
    names = ["Ko Ko", "ကိုကို", 'Daw "Su", Yangon', ""]
    return edition_batch(
        project,
        sample_editions[locale],
        [copy(project, n, name, f"reader{n}@example.org", locale) for n, name in enumerate(names, 1)],
    )


@pytest.mark.parametrize("locale", ["en", "my"])
def test_outbox_files_hold_the_composed_copies(
    project: Project, sample_editions: dict[str, Email], locale: str, tmp_path: Path
) -> None:
    batch = sample_batch(project, sample_editions, locale)
    deliveries = OutboxTransport(tmp_path).send(batch)
    boundary = prepare(batch).boundary
    assert [d.outcome for d in deliveries] == [Outcome.SENT] * len(batch.recipients)
    for reader, delivery in zip(batch.recipients, deliveries, strict=True):
        assert Path(delivery.detail).read_bytes() == composed(batch, reader, boundary)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


@pytest.mark.parametrize("locale", ["en", "my"])
def test_smtp_sends_the_composed_copies(
    project: Project, sample_editions: dict[str, Email], locale: str, mailbox: Mailbox
) -> None:
    batch = sample_batch(project, sample_editions, locale)
    transport = SMTPTransport.from_url(f"smtp://127.0.0.1:{mailbox.port}", timeout=5.0)
    try:
        # One recipient per hand-over, as the sender hands them (SMTPTransport.max_batch).
        deliveries = [
            d
            for reader in batch.recipients
            for d in transport.send(dataclasses.replace(batch, recipients=[reader]))
        ]
    finally:
        transport.close()
    assert [d.outcome for d in deliveries] == [Outcome.SENT] * len(batch.recipients)
    boundary = prepare(batch).boundary
    received = {message.rcpt_tos[0]: message.data for message in mailbox.wait_for(len(batch.recipients))}
    for reader in batch.recipients:
        assert received[reader.address] == composed(batch, reader, boundary)
