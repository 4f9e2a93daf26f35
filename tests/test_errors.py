from bench.errors import MESSAGE_LIMIT, first_line, one_line


def test_a_reason_is_the_first_line_of_the_message_bounded():
    assert first_line(ValueError("bad value\n  Traceback detail")) == "bad value"
    assert first_line(ValueError("x" * 2000)) == "x" * MESSAGE_LIMIT
    assert first_line(KeyError()) == "KeyError"
    assert one_line(RuntimeError("  no kernel\nmore")) == "RuntimeError: no kernel"
