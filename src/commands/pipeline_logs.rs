//! `ict pipeline logs FILE NAME [RUN]`: a run's log from the state's pipeline records (the
//! same records, and the same `Record::log`, as the dashboard's log view).

use super::Error;
use crate::app::Project;
use crate::config::{Config, PipelineLogsOptions};
use crate::exit::ExitCode;
use crate::pipeline::record::History;
use crate::ui::{self, Ui};

pub(super) fn logs(
    config: &Config,
    ui: &Ui,
    args: &PipelineLogsOptions,
) -> Result<ExitCode, Error> {
    let project = Project::new(config, &args.file);
    let evaluated = super::show_warnings(ui, project.evaluate()?);
    crate::app::deploy::find(&evaluated.desired, &args.name, &args.file)?;
    // The records are the environment's state (a team backend's too); the whole logs are kept
    // next to the local state, by whoever ran the pipeline.
    let state = project.state()?;
    let dir = project.state_dir()?;
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
