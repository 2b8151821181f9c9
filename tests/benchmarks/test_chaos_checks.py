"""The chaos suite's verdict logic: sinks counted by Message-ID, the queue's books, the
API's answers to bad requests and the checks built on them."""

import uuid

from benchmarks._chaos_checks import (
    Answer,
    checks,
    message_id_of,
    tally_answers,
    tally_queue,
    tally_sinks,
)


def _mail(message_id: uuid.UUID) -> bytes:
    return (
        f"From: a@news.acme.example\r\nMessage-ID: <{message_id}@news.acme.example>\r\n"
        "Subject: hi\r\n\r\nMessage-ID: <not-in-the-body@x>\r\n"
    ).encode()


def test_the_message_id_is_read_from_the_headers_only() -> None:
    message_id = uuid.uuid4()
    assert message_id_of(_mail(message_id)) == message_id
    assert message_id_of(b"Subject: none\r\n\r\nMessage-ID: <" + str(message_id).encode()) is None


def test_a_message_received_three_times_counts_two_duplicates() -> None:
    once, thrice = uuid.uuid4(), uuid.uuid4()
    tally = tally_sinks([_mail(once), _mail(thrice), _mail(thrice), _mail(thrice), b"x\r\n"])
    assert (tally.received, tally.distinct, tally.duplicates, tally.without_id) == (5, 2, 2, 1)
    assert tally.ids == {once, thrice}


def test_the_queue_books_find_lost_unfinished_and_unreceived_messages() -> None:
    ids = [uuid.uuid4() for _ in range(5)]
    states = {
        ids[0]: ("delivered", "email"),  # received: fine
        ids[1]: ("delivered", "email"),  # never received: lost on the way
        ids[2]: ("deferred", None),  # not terminal
        ids[3]: ("bounced", None),
    }  # ids[4] is absent: lost
    tally = tally_queue(ids, states, frozenset({ids[0], ids[3]}))
    assert tally.accepted == 5 and tally.lost == 1 and tally.non_terminal == 1
    assert tally.delivered_not_received == 1 and tally.received_not_delivered == 1
    assert tally.by_state == {"bounced": 1, "delivered": 2, "deferred": 1}


def test_a_503_while_postgresql_is_down_is_no_server_error_but_a_500_is() -> None:
    answers = tally_answers(
        [Answer("no_signature", 401, False), Answer("unknown_campaign", 503, True),
         Answer("oversize_body", 413, False), Answer("wrong_types", 500, True)]
    )  # fmt: skip
    assert answers["sent"] == 4 and answers["server_errors"] == 1
    assert answers["server_errors_while_postgresql_down"] == 1
    assert answers["unavailable_while_postgresql_down"] == 1
    assert answers["by_status"] == {"401": 1, "413": 1, "500": 1, "503": 1}


def test_every_check_holds_on_a_clean_run_and_duplicates_beyond_in_flight_fail() -> None:
    message_id = uuid.uuid4()
    queue = tally_queue([message_id], {message_id: ("delivered", "email")},
                        frozenset({message_id}))  # fmt: skip
    sinks = tally_sinks([_mail(message_id), _mail(message_id)])
    answers = tally_answers([Answer("no_signature", 401, False)])
    assert all(checks(queue, sinks, 1, answers, 4, 4, expected=1).values())
    verdict = checks(queue, sinks, 0, answers, 4, 3, expected=1)
    assert not verdict["duplicates_within_in_flight"] and not verdict["audit_chains_verified"]
