//! `ict pipeline logs FILE NAME [RUN]`: a run's log from the state's pipeline records (the
//! same records, and the same `Record::log`, as the dashboard's log view).

use super::{evaluate, Error};
use crate::config::{Config, PipelineLogsOptions};
use crate::exit::ExitCode;
use crate::pipeline::record::History;
use crate::state::{State, StateDir};
use crate::ui::{self, Ui};

pub(super) fn logs(
    config: &Config,
    ui: &Ui,
    args: &PipelineLogsOptions,
) -> Result<ExitCode, Error> {
    let evaluated = evaluate(config, ui, &args.file)?;
    crate::app::deploy::find(&evaluated.desired, &args.name, &args.file)?;
    let dir = StateDir::for_script(&args.file, &config.env)?;
    let state = State::load(&dir)?;
    let history = History::load(&state, &args.name);
    let Some(record) = history.run(args.run.as_deref()) else {
        let (what, hint) = match &args.run {
            None => (
                "no runs yet".to_owned(),
                format!(
                    "run it with `ict pipeline run {} {}`",
                    args.file.display(),
                    args.name
                ),
            ),
            Some(run) => (
                format!("no run `{run}`"),
                format!(
                    "`ict pipeline status {} {}` lists the remembered runs",
                    args.file.display(),
                    args.name
                ),
            ),
        };
        return Err(Error::NoPipelineRun {
            name: args.name.clone(),
            what,
            env: config.env.clone(),
            hint,
        });
    };
    let log = record.full_log(dir.path());
    ui.out(&ui::pipeline::run_log(&args.name, record, &log));
    Ok(ExitCode::Success)
}
