//! The dashboard's actions, carried out where the watch command holds its [`Session`]: power a
//! declared server on, off or reboot it, as `ict power` does, under the environment's lock.

use std::future::Future;

use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use super::Board;
use crate::app::{Powered, Session};
use crate::provider::PowerOp;

/// A power action the page asked for; the answer goes back on `reply` (`Err`: why it was not
/// done).
#[derive(Debug)]
pub struct Request {
    pub server: String,
    pub op: PowerOp,
    pub reply: oneshot::Sender<Result<Value, String>>,
}

/// Carries out each request until `stop` completes; refreshes the board after each, before
/// answering.
pub async fn act(
    session: Session<'_>,
    board: &Board,
    mut requests: mpsc::Receiver<Request>,
    stop: impl Future<Output = ()>,
) {
    tokio::pin!(stop);
    loop {
        let request = tokio::select! {
            () = &mut stop => return,
            request = requests.recv() => match request {
                Some(request) => request,
                None => return,
            },
        };
        let answer = power(session, &request.server, request.op).await;
        super::keep::refresh(session, board).await;
        let _ = request.reply.send(answer);
    }
}

async fn power(session: Session<'_>, server: &str, op: PowerOp) -> Result<Value, String> {
    let locked = session
        .project
        .lock(&format!("power {server} (dashboard)"))
        .map_err(|e| e.to_string())?;
    let powered = session
        .power(locked.store.state(), &[server.to_owned()], op)
        .await;
    let closed = locked.store.close();
    let powered = powered.map_err(|e| e.to_string())?;
    closed.map_err(|e| e.to_string())?;
    let action = match op {
        PowerOp::On => "on",
        PowerOp::Off | PowerOp::Shutdown => "off",
        PowerOp::Reboot => "reboot",
    };
    match powered.into_iter().next() {
        Some((_, Powered::Done)) => {
            Ok(json!({ "server": server, "action": action, "result": "done" }))
        }
        Some((_, Powered::Already(power))) => Ok(json!({
            "server": server, "action": action, "result": format!("already {power}"),
        })),
        Some((_, Powered::Absent(why))) => Err(format!("{server} is {why}")),
        Some((_, Powered::Failed(e))) => Err(format!("{server}: {e}")),
        None => Err(format!("the script declares no server {server:?}")),
    }
}
