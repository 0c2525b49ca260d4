//! The standalone emulator (`ict emulator [serve] --listen …`): the blocking entry point that
//! runs it until Ctrl-C or SIGTERM, and that stop signal. Its options are parsed in `cli` and
//! turned into an [`EmulatorConfig`] by `config`. Depends on the emulator itself.

use std::net::SocketAddr;

use tokio::net::TcpListener;

use super::{Emulator, EmulatorConfig, EmulatorError};

/// Checks the settings and loads the account, builds a runtime, binds `listen`, then calls
/// `on_listening` with the bound address (so the caller announces it only once start-up
/// succeeded) and serves until Ctrl-C or SIGTERM; the state is saved on the way out. For
/// `ict emulator`; in-process users call [`super::spawn`] instead.
pub fn run_until_signal(
    listen: SocketAddr,
    config: EmulatorConfig,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), EmulatorError> {
    let runtime =
        tokio::runtime::Runtime::new().map_err(|source| EmulatorError::Serve { source })?;
    runtime.block_on(async move {
        // Inside the runtime: restoring servers may start their sshds and exporters.
        let emulator = Emulator::new(config)?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| EmulatorError::Bind {
                addr: listen.to_string(),
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                addr: listen.to_string(),
                source,
            })?;
        on_listening(addr);
        emulator.run(listener, stop_signal(), |app| app).await
    })
}

/// Completes on Ctrl-C or (on Unix) SIGTERM.
pub(crate) async fn stop_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
