//! A cloud that fails 20% of requests: repeated applies converge without duplicates.

use super::{expect, fleet, unique_names, Cloud};

#[tokio::test]
async fn applies_converge_on_a_flaky_cloud_without_duplicates() {
    const COUNT: usize = 20;
    let dir = fleet(COUNT);
    let state = dir.path().join("cloud.json");
    let mut cloud = Cloud::start(
        &state,
        &[
            "--task-delay",
            "50",
            "--fail-rate",
            "0.2",
            "--seed",
            "42",
            "--fault-delay",
            "200",
        ],
    );
    // The cloud does fail: about one request in five.
    let mut failed = 0;
    for _ in 0..40 {
        let (status, _) = cloud.call(reqwest::Method::GET, "/server", None).await;
        if !status.is_success() {
            failed += 1;
        }
    }
    assert!((1..=20).contains(&failed), "{failed} of 40 requests failed");

    let mut runs = Vec::new();
    for _ in 0..5 {
        let out = cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]);
        runs.push(out.status);
        if out.status == 0 {
            break;
        }
        assert!(
            out.status == 0 || out.status == 1 || out.status == 3,
            "unexpected exit {}:\n{}\n{}",
            out.status,
            out.stdout,
            out.stderr
        );
    }
    assert_eq!(runs.last(), Some(&0), "no convergence in 5 runs: {runs:?}");

    // Check the account on a cloud that no longer fails.
    cloud.restart_with(&["--task-delay", "50"]);
    let names = unique_names(&cloud.servers().await);
    assert_eq!(names.len(), COUNT, "{names:?}");
    let out = cloud.ict(dir.path(), &["plan", "infra.ict", "--detailed-exitcode"]);
    expect(&out, 0);
    assert!(!out.stdout.contains("not managed by ict"), "{}", out.stdout);
}
