//! Account and billing routes (docs/1cloud-api.md §2.3): `/customer/balance`, `/account`,
//! `/project`. The emulated account never runs out of money. Depends on `reply`.

use serde_json::json;

use super::reply::{ApiResult, Reply};

/// The balance the emulated account always has, in roubles.
const BALANCE: f64 = 10_000.0;
const PROJECT_ID: u64 = 1;

/// A bare number, as PYLIB expects.
pub(crate) fn balance() -> ApiResult {
    Reply::json(&BALANCE)
}

pub(crate) fn account() -> ApiResult {
    Reply::json(&json!({
        "ID": 1,
        "FirstName": "Emulated",
        "LastName": "Customer",
        "Email": "customer@emulator.invalid",
        "Balance": BALANCE,
        "BalanceTillDateUtc": "2099-12-31T00:00:00",
        "ProjectBalances": [
            {"ProjectId": PROJECT_ID, "Balance": {"Real": BALANCE, "Bonus": 0.0, "Test": 0.0}}
        ]
    }))
}

pub(crate) fn project() -> ApiResult {
    Reply::json(&json!({
        "ID": PROJECT_ID,
        "Name": "emulator",
        "Balances": {"Real": BALANCE, "Bonus": 0.0, "Test": 0.0}
    }))
}
