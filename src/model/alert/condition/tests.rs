//! The `when` parser: what parses to what, and where mistakes are reported.

use super::*;

fn cmp(figure: Figure, op: Op, value: f64) -> Condition {
    Condition::Compare { figure, op, value }
}

#[test]
fn parses_conditions() {
    let and = |a, b| Condition::And(Box::new(a), Box::new(b));
    let or = |a, b| Condition::Or(Box::new(a), Box::new(b));
    let cases = [
        ("cpu > 90", cmp(Figure::Cpu, Op::Gt, 90.0)),
        ("up==0", cmp(Figure::Up, Op::Eq, 0.0)),
        ("net_rx >= 50M", cmp(Figure::NetRx, Op::Ge, 50e6)),
        ("disk > 90%", cmp(Figure::Disk, Op::Gt, 90.0)),
        ("load1 != 2.5", cmp(Figure::Load1, Op::Ne, 2.5)),
        (
            "cpu > 90 or memory > 80 and swap > 10",
            or(
                cmp(Figure::Cpu, Op::Gt, 90.0),
                and(
                    cmp(Figure::Memory, Op::Gt, 80.0),
                    cmp(Figure::Swap, Op::Gt, 10.0),
                ),
            ),
        ),
        (
            "(cpu > 90 or memory > 80) and swap <= 10",
            and(
                or(
                    cmp(Figure::Cpu, Op::Gt, 90.0),
                    cmp(Figure::Memory, Op::Gt, 80.0),
                ),
                cmp(Figure::Swap, Op::Le, 10.0),
            ),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(parse(text), Ok(expected), "{text}");
    }
}

#[test]
fn reports_mistakes_with_positions() {
    let cases: &[(&str, &str, usize, usize, Option<&str>)] = &[
        (
            "cpu_busy > 90",
            "unknown figure `cpu_busy`",
            0,
            8,
            Some("`cpu`"),
        ),
        (
            "cpu > 90 and memroy > 5",
            "unknown figure `memroy`",
            13,
            6,
            Some("`memory`"),
        ),
        ("cpu = 90", "`=` is not a comparison", 4, 1, Some("==")),
        ("cpu > ", "the condition ends where a number", 5, 1, None),
        ("cpu > 90 && up == 0", "`&&` is written `and`", 9, 2, None),
        ("cpu > 9x", "unknown unit `x`", 7, 1, None),
        ("cpu 90", "expected a comparison", 4, 2, None),
        ("cpu > 90 up", "expected `and`, `or`", 9, 2, None),
        ("(cpu > 90", "the condition ends where `)`", 8, 1, None),
        ("", "the condition ends where a figure name", 0, 1, None),
    ];
    for (text, message, offset, len, help) in cases {
        let e = parse(text).expect_err(text);
        assert!(e.message.starts_with(message), "{text}: {}", e.message);
        assert_eq!((e.offset, e.len), (*offset, *len), "{text}");
        if let Some(help) = help {
            assert!(
                e.help.as_deref().unwrap_or("").contains(help),
                "{text}: {e:?}"
            );
        }
    }
}

#[test]
fn operators_compare() {
    assert!(Op::Gt.holds(2.0, 1.0) && !Op::Gt.holds(1.0, 1.0));
    assert!(Op::Ge.holds(1.0, 1.0) && Op::Le.holds(1.0, 1.0));
    assert!(Op::Eq.holds(0.0, 0.0) && Op::Ne.holds(0.0, 1.0));
    assert!(Op::Lt.holds(0.0, 1.0) && !Op::Lt.holds(1.0, 0.0));
}
