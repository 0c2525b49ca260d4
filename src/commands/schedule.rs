//! `ict schedule list` and `ict schedule run`: the script's schedules with their next times
//! and last runs, and running one now, as `ict watch` would.

use super::{open, show_warnings, Error};
use crate::app::{self, schedule, Project, Session};
use crate::config::{Config, ScheduleCommand};
use crate::exit::ExitCode;
use crate::ui::{self, Ui};

pub(super) fn command(
    config: &Config,
    ui: &Ui,
    command: &ScheduleCommand,
) -> Result<ExitCode, Error> {
    match command {
        ScheduleCommand::List { file, json } => {
            let project = Project::new(config, file);
            let evaluated = show_warnings(ui, project.evaluate()?);
            let listed = schedule::list(&project, &evaluated)?;
            if *json {
                ui.json(&ui::schedule::list_json(&listed))
                    .map_err(Error::Json)?;
            } else {
                ui.out(&ui::schedule::list(&listed));
            }
            Ok(ExitCode::Success)
        }
        ScheduleCommand::Run { file, name } => run(config, ui, file, name),
    }
}

fn run(config: &Config, ui: &Ui, file: &std::path::Path, name: &str) -> Result<ExitCode, Error> {
    let (project, pending, evaluated) = open(config, ui, file)?;
    let chosen = schedule::find(&project, &evaluated, name)?;
    app::runtime()?.block_on(async {
        let conn = pending.connect().await?;
        ui.out(&format!("{}\n", conn.banner));
        let session = Session {
            project: &project,
            conn: &conn,
            evaluated: &evaluated,
        };
        let run = session.run_schedule(chosen, project.now()).await;
        conn.close().await;
        let run = run?;
        if let Err(e) = &run.ran {
            ui.report(e);
        }
        ui.out(&ui::schedule::run(chosen, &run));
        Ok(match &run.ran {
            Ok(ran) if ran.failed() => ExitCode::PartialFailure,
            Ok(_) => ExitCode::Success,
            Err(e) => e.exit_code(),
        })
    })
}
