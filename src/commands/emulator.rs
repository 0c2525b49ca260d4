//! `ict emulator …`: the standalone emulator in the foreground (`serve`, or the old
//! `ict emulator --listen …`), and the project's emulator daemon — `start`, `status`, `stop`,
//! `logs`, and the hidden `daemon` the other commands start.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::config::EmulatorCommand;
use crate::daemon::{self, Found, Project, Requested};
use crate::emulator::EmulatorConfig;
use crate::exit::ExitCode;
use crate::ui::{self, Ui};

use super::Error;

/// Runs `ict emulator …`.
pub(super) fn emulator(ui: &Ui, command: &EmulatorCommand) -> Result<ExitCode, Error> {
    match command {
        EmulatorCommand::Serve { listen, settings } => serve(ui, *listen, settings),
        EmulatorCommand::Start { project: at } => {
            let project = project(at.as_deref())?;
            let link = daemon::ensure(&project, &Requested::from_env()?)?;
            for note in &link.notes {
                ui.note(&format!("note: {note}"));
            }
            let found = Found::Running(Box::new(link));
            ui.out(&ui::emulator::status_text(
                project.dir(),
                &project.log_file(),
                &found,
            ));
            Ok(ExitCode::Success)
        }
        EmulatorCommand::Status { project: at, json } => {
            let project = project(at.as_deref())?;
            let found = daemon::status(&project)?;
            let log = project.log_file();
            if *json {
                ui.json(&ui::emulator::status_json(project.dir(), &log, &found))
                    .map_err(Error::Json)?;
            } else {
                ui.out(&ui::emulator::status_text(project.dir(), &log, &found));
            }
            Ok(ExitCode::Success)
        }
        EmulatorCommand::Stop { project: at } => {
            let project = project(at.as_deref())?;
            let stopped = daemon::stop(&project)?;
            ui.out(&ui::emulator::stopped_text(project.dir(), stopped.as_ref()));
            Ok(ExitCode::Success)
        }
        EmulatorCommand::Logs {
            project: at,
            follow,
        } => logs(ui, &project(at.as_deref())?, *follow),
        EmulatorCommand::Daemon { dir, port } => {
            // The starter reads `ready URL`, `busy` or `error WHY` on standard output.
            match daemon::serve(dir, *port, |line| ui.out(line)) {
                Ok(_) => Ok(ExitCode::Success),
                Err(daemon::DaemonError::AlreadyRunning { .. }) => {
                    ui.out("busy\n");
                    Ok(ExitCode::Success)
                }
                Err(error) => {
                    ui.out(&format!("error {}\n", error.one_line()));
                    Err(error.into())
                }
            }
        }
    }
}

/// The standalone emulator, in the foreground until Ctrl-C or SIGTERM.
fn serve(ui: &Ui, listen: SocketAddr, settings: &EmulatorConfig) -> Result<ExitCode, Error> {
    crate::emulator::run_until_signal(listen, settings.clone(), |addr| {
        ui.note(&format!(
            "1cloud emulator listening on http://{addr} (Ctrl-C to stop)"
        ));
    })?;
    Ok(ExitCode::Success)
}

fn project(at: Option<&Path>) -> Result<Project, Error> {
    Project::find(at).map_err(Error::Project)
}

/// Prints the log; with `follow`, keeps printing what is appended until interrupted.
fn logs(ui: &Ui, project: &Project, follow: bool) -> Result<ExitCode, Error> {
    let path = project.log_file();
    let mut printed = 0;
    loop {
        match std::fs::File::open(&path) {
            Ok(mut file) => {
                let length = file.metadata().map_or(0, |m| m.len());
                if length < printed {
                    // Started afresh by a new daemon.
                    printed = 0;
                }
                let mut text = String::new();
                file.seek(SeekFrom::Start(printed))
                    .and_then(|_| file.read_to_string(&mut text))
                    .map_err(|error| Error::Read {
                        path: path.clone(),
                        error,
                    })?;
                printed += text.len() as u64;
                ui.out(&text);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && follow => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                ui.note(&format!(
                    "no emulator log yet: {} (the emulator of {} has not run)",
                    path.display(),
                    project.dir().display()
                ));
                return Ok(ExitCode::Success);
            }
            Err(error) => return Err(Error::Read { path, error }),
        }
        if !follow {
            return Ok(ExitCode::Success);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
