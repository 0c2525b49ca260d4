//! The REPL's live functions: `cloud::servers()`, `cloud::server(name)`, `cloud::images()`,
//! `cloud::dcs()`, `cloud::networks()`, `cloud::balance()`, `plan()`, `exec(limit, command)`
//! and `metrics(name)`, registered on the session's engine through
//! [`Session::register_live`].
//!
//! [`Cloud`] holds what they share: the project, the [`Live`] runtime, the provider connection
//! (made on first use and kept for the session), `exec`'s SSH sessions (kept open, see
//! `ssh::Pool`) and the Ctrl-C counter. Planning and `exec` go
//! through the same [`app::Session`] as `ict plan` and `ict exec`. Every call runs as a [`query`]: a spinner on a
//! terminal, a timeout, and Ctrl-C cancels it with an error while the session goes on.
//! May depend on `app`, `connect`, `provider`, `state`, `script` and `ui`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, Dynamic, EvalAltResult, Map, NativeCallContext};

use super::live::{query, Interrupts, Live};
use super::values;
use crate::app::{self, Error, ExecJob, Project};
use crate::connect::Connection;
use crate::model::{pattern, DidYouMean};
use crate::provider::Provider as _;
use crate::script::session::Declared;
use crate::script::{Evaluated, Session};
use crate::ssh::FanoutOptions;
use crate::state::State;
use crate::ui::Ui;

/// Limit for one read of the cloud (and for connecting).
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(60);
/// Limit for `exec`'s command on each server.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `exec` keeps a server's SSH session open for the next `exec`.
pub const EXEC_IDLE: Duration = Duration::from_secs(120);

/// The live functions, with a line of help each (for `:help` and completion).
pub const LIVE_FUNCTIONS: &[(&str, &str)] = &[
    (
        "cloud::servers",
        "cloud::servers() -> array of #{ id, name, state, power, cpu, ram, disk, ip, dc, image, managed }",
    ),
    ("cloud::server", "cloud::server(name) -> map (as in cloud::servers())"),
    (
        "cloud::images",
        "cloud::images() -> array of #{ id, name, title, family, min_disk, dc }",
    ),
    (
        "cloud::dcs",
        "cloud::dcs() -> array of #{ name, title, city, country, ipv6, high_performance }",
    ),
    (
        "cloud::networks",
        "cloud::networks() -> array of #{ id, name, state, dc, dhcp, mask, gateway, servers }",
    ),
    ("cloud::balance", "cloud::balance() -> float (the account balance)"),
    (
        "plan",
        "plan() -> #{ summary: #{ add, change, destroy }, steps, unmanaged } (what is declared vs the cloud)",
    ),
    (
        "exec",
        "exec(servers, command) -> map of server -> #{ exit, stdout, stderr } (over SSH, like `ict exec`)",
    ),
    ("metrics", "metrics(server) -> map of live node_exporter figures (over HTTP, <ip>:9100)"),
];

/// What `metrics(name)` asks its source about.
#[derive(Debug, Clone)]
pub struct MetricsTarget {
    /// The server's name.
    pub name: String,
    /// Its public IP.
    pub ip: String,
}

/// Where `metrics(name)` gets its figures (name → value, e.g. `cpu_percent`): the metrics
/// scraper plugs in here with [`Cloud::set_metrics`]; until then `metrics()` says it is not
/// available.
pub type MetricsSource = Arc<
    dyn Fn(
            MetricsTarget,
        ) -> Pin<Box<dyn Future<Output = Result<Vec<(String, f64)>, String>> + Send>>
        + Send
        + Sync,
>;

type Answer<T> = Result<T, Box<EvalAltResult>>;
type Ctx<'a> = NativeCallContext<'a>;

/// Runs a live call (its waiting is not counted against the input's time limit) and points its
/// error at the call.
fn at<T>(ctx: &Ctx<'_>, declared: &Declared, call: impl FnOnce() -> Answer<T>) -> Answer<T> {
    declared.paused(call).map_err(|mut e| {
        if e.position().is_none() {
            e.set_position(ctx.call_position());
        }
        e
    })
}

/// The live side of a REPL session.
pub struct Cloud {
    live: Live,
    project: Project,
    ui: Ui,
    connection: RefCell<Option<Arc<Connection>>>,
    /// Draw spinners (stderr is a terminal).
    spinner: bool,
    metrics: RefCell<Option<MetricsSource>>,
    /// `exec`'s SSH sessions, kept open for the next `exec` on the same servers.
    connections: crate::ssh::Pool,
    /// The Ctrl-C count when the current input started.
    input_start: Cell<u64>,
}

impl Cloud {
    /// A live context for `project` (FILE, or `./infra.ict` without one).
    pub fn new(live: Live, project: Project, ui: Ui, spinner: bool) -> Cloud {
        let input_start = Cell::new(live.interrupts().count());
        Cloud {
            live,
            project,
            ui,
            connection: RefCell::new(None),
            spinner,
            metrics: RefCell::new(None),
            connections: crate::ssh::Pool::new(EXEC_IDLE),
            input_start,
        }
    }

    /// Ctrl-C stops queries and inputs from now on, instead of ending the process (see
    /// [`Live::listen_for_ctrl_c`]); a warning if that cannot be set up.
    pub fn listen_for_ctrl_c(&self) {
        if let Err(e) = self.live.listen_for_ctrl_c() {
            self.ui
                .note(&format!("warning: Ctrl-C will end ict repl: {e}"));
        }
    }

    /// Plugs in the source of `metrics(name)`.
    pub fn set_metrics(&self, source: MetricsSource) {
        *self.metrics.borrow_mut() = Some(source);
    }

    /// The Ctrl-C counter.
    pub fn interrupts(&self) -> Interrupts {
        self.live.interrupts()
    }

    /// Marks the start of an input: a Ctrl-C from now on interrupts it.
    pub fn begin_input(&self) {
        self.input_start.set(self.interrupts().count());
    }

    /// Whether Ctrl-C was pressed since the input started.
    pub fn interrupted(&self) -> bool {
        self.interrupts().count() != self.input_start.get()
    }

    /// The runtime the queries run on.
    pub(super) fn runtime(&self) -> tokio::runtime::Handle {
        self.live.handle()
    }

    pub(super) fn ui(&self) -> &Ui {
        &self.ui
    }

    pub(super) fn project(&self) -> &Project {
        &self.project
    }

    /// Closes the provider connection (stopping and saving the in-process emulator).
    pub fn close(self) {
        if let Some(conn) = self.connection.borrow_mut().take() {
            match Arc::try_unwrap(conn) {
                Ok(conn) => self.live.block_on(conn.close()),
                Err(_) => self
                    .ui
                    .note("warning: a cancelled query still holds the connection; the emulator stops without saving"),
            }
        }
    }

    /// The provider connection, made on first use.
    pub(super) fn connection(&self) -> Result<Arc<Connection>, String> {
        if let Some(conn) = self.connection.borrow().as_ref() {
            return Ok(conn.clone());
        }
        let pending = self.project.connect();
        let conn = self.wait("connecting", Some(QUERY_TIMEOUT), async move {
            pending.connect().await.map_err(Error::from)
        })?;
        self.ui.note(&conn.banner);
        let conn = Arc::new(conn);
        *self.connection.borrow_mut() = Some(conn.clone());
        Ok(conn)
    }

    /// Runs `future` as a query with a spinner labelled `label`; errors become one-line text.
    pub(super) fn wait<T: Send + 'static>(
        &self,
        label: &str,
        timeout: Option<Duration>,
        future: impl Future<Output = Result<T, Error>> + Send + 'static,
    ) -> Result<T, String> {
        let interrupts = self.interrupts();
        let spinner = self.spinner.then(|| self.ui.spinner(label));
        let answer = query(
            &self.live.handle(),
            future,
            timeout,
            Some(&interrupts),
            |_| {
                if let Some(s) = &spinner {
                    s.tick();
                }
            },
        );
        drop(spinner);
        match answer {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(error.one_line()),
            Err(error) => Err(format!("{label}: {error}")),
        }
    }

    /// Like [`Cloud::wait`], with the connection.
    pub(super) fn ask<T, F>(
        &self,
        label: &str,
        timeout: Option<Duration>,
        work: impl FnOnce(Arc<Connection>) -> F,
    ) -> Result<T, String>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        let conn = self.connection()?;
        self.wait(label, timeout, work(conn))
    }

    /// The environment's state (who owns what); empty before the first apply.
    fn state(&self) -> Result<State, String> {
        self.project.state().map_err(|e| e.one_line())
    }

    fn servers(&self) -> Answer<Array> {
        let mut servers = self.ask(
            "asking the cloud for servers",
            Some(QUERY_TIMEOUT),
            |c| async move { c.client.servers().await.map_err(Error::from) },
        )?;
        servers.sort_by(|a, b| (&a.name, a.id.0).cmp(&(&b.name, b.id.0)));
        let state = self.state()?;
        Ok(servers
            .iter()
            .map(|s| Dynamic::from_map(values::server(s, &state)))
            .collect())
    }

    fn server(&self, name: &str) -> Answer<Map> {
        let servers = self.servers()?;
        let named = |s: &Dynamic| {
            s.read_lock::<Map>()
                .and_then(|m| m.get("name").map(ToString::to_string))
        };
        if let Some(found) = servers.iter().find(|s| named(s).as_deref() == Some(name)) {
            return Ok(found
                .read_lock::<Map>()
                .map(|m| m.clone())
                .unwrap_or_default());
        }
        let names: Vec<String> = servers.iter().filter_map(named).collect();
        let hint = DidYouMean::new(name, names.iter().map(String::as_str))
            .help()
            .map_or_else(String::new, |h| format!("; {h}"));
        Err(
            format!("no server named `{name}` in the cloud{hint} (`cloud::servers()` lists them)")
                .into(),
        )
    }

    fn images(&self) -> Answer<Array> {
        let mut images = self.ask(
            "asking the cloud for images",
            Some(QUERY_TIMEOUT),
            |c| async move { c.client.images().await.map_err(Error::from) },
        )?;
        images.sort_by(|a, b| (&a.name, a.id.0).cmp(&(&b.name, b.id.0)));
        Ok(images
            .iter()
            .map(|i| Dynamic::from_map(values::image(i)))
            .collect())
    }

    fn dcs(&self) -> Answer<Array> {
        let mut dcs = self.ask(
            "asking the cloud for data centres",
            Some(QUERY_TIMEOUT),
            |c| async move { c.client.dc_locations().await.map_err(Error::from) },
        )?;
        dcs.sort_by(|a, b| a.tech_title.cmp(&b.tech_title));
        Ok(dcs
            .iter()
            .map(|d| Dynamic::from_map(values::dc(d)))
            .collect())
    }

    fn networks(&self) -> Answer<Array> {
        let mut networks = self.ask(
            "asking the cloud for networks",
            Some(QUERY_TIMEOUT),
            |c| async move { c.client.networks().await.map_err(Error::from) },
        )?;
        networks.sort_by(|a, b| (&a.name, a.id.0).cmp(&(&b.name, b.id.0)));
        Ok(networks
            .iter()
            .map(|n| Dynamic::from_map(values::network(n)))
            .collect())
    }

    /// `cloud::pools()` or, with `volumes`, `cloud::volumes()` (libvirt).
    fn storage(&self, volumes: bool) -> Answer<Array> {
        let observed = self.ask(
            "asking the cloud for storage",
            Some(QUERY_TIMEOUT),
            |c| async move {
                c.client
                    .observe(crate::provider::Kinds::STORAGE)
                    .await
                    .map_err(Error::from)
            },
        )?;
        let items: Result<Array, Box<EvalAltResult>> = if volumes {
            observed
                .volumes
                .iter()
                .map(rhai::serde::to_dynamic)
                .collect()
        } else {
            observed.pools.iter().map(rhai::serde::to_dynamic).collect()
        };
        items
    }

    fn balance(&self) -> Answer<f64> {
        Ok(self.ask(
            "asking the cloud for the balance",
            Some(QUERY_TIMEOUT),
            |c| async move { c.client.balance().await.map_err(Error::from) },
        )?)
    }

    fn plan(&self, declared: &Declared) -> Answer<Map> {
        let plan = self.make_plan(declared)?;
        Ok(values::plan(&plan))
    }

    /// The plan of what is declared so far (validated first).
    pub(super) fn make_plan(&self, declared: &Declared) -> Result<crate::reconcile::Plan, String> {
        let desired = declared
            .check()
            .map_err(|failure| Error::from(failure).one_line())?;
        let evaluated = evaluated(desired, declared.sources());
        let project = self.project.clone();
        self.ask(
            "planning",
            Some(QUERY_TIMEOUT * 2),
            move |conn| async move {
                let session = app::Session {
                    project: &project,
                    conn: &conn,
                    evaluated: &evaluated,
                };
                session.plan_unlocked().await
            },
        )
    }

    fn exec(&self, declared: &Declared, limit: &str, command: &str) -> Answer<Map> {
        let evaluated = evaluated(declared.desired(), declared.sources());
        let servers: Vec<String> = pattern::select(limit, &evaluated.desired)
            .into_iter()
            .map(str::to_owned)
            .collect();
        if servers.is_empty() {
            let error = Error::PatternMatchesNothing {
                pattern: limit.to_owned(),
            };
            return Err(error.one_line().into());
        }
        let project = self.project.clone();
        let auth = app::hosts::auth(None, &evaluated.desired, &project.script)
            .map_err(|e| e.one_line())?;
        let job = ExecJob {
            servers,
            command: command.to_owned(),
            auth,
            options: FanoutOptions {
                command_timeout: EXEC_TIMEOUT,
                // Sessions stay open for the next `exec` (closed after an idle time).
                pool: Some(self.connections.clone()),
                ..FanoutOptions::default()
            },
        };
        let ran = {
            let job = job.clone();
            self.ask(
                &format!("running `{command}` on {limit}"),
                Some(EXEC_TIMEOUT * 2),
                move |conn| async move {
                    let session = app::Session {
                        project: &project,
                        conn: &conn,
                        evaluated: &evaluated,
                    };
                    session.exec(&job).await
                },
            )?
        };
        for note in &ran.notes {
            self.ui.note(note);
        }
        let outputs = ran.outputs(&job.servers);
        Ok(values::exec(&outputs))
    }

    fn metrics(&self, name: &str) -> Answer<Map> {
        let Some(source) = self.metrics.borrow().clone() else {
            return Err(
                "metrics() is not available yet: no metrics source is plugged into this REPL"
                    .to_owned()
                    .into(),
            );
        };
        let server = self.server(name)?;
        let Some(ip) = server.get("ip").filter(|ip| !ip.is_unit()) else {
            return Err(format!("server `{name}` has no IP address yet").into());
        };
        let target = MetricsTarget {
            name: name.to_owned(),
            ip: ip.to_string(),
        };
        let server = name.to_owned();
        let figures = self.wait(
            &format!("scraping {name}"),
            Some(QUERY_TIMEOUT),
            async move {
                source(target)
                    .await
                    .map_err(|reason| Error::Unscraped { server, reason })
            },
        )?;
        Ok(figures
            .into_iter()
            .map(|(k, v)| (k.into(), Dynamic::from_float(v)))
            .collect())
    }
}

/// What is declared so far, as an evaluated script (its warnings were shown when declared).
pub(super) fn evaluated(
    desired: crate::model::Desired,
    sources: crate::model::Sources,
) -> Evaluated {
    Evaluated {
        desired,
        sources,
        warnings: Vec::new(),
    }
}

/// Registers the live functions on `session` (now and after every `:reload`).
pub fn register(cloud: &Rc<Cloud>, session: &mut Session) {
    let cloud = cloud.clone();
    session.register_live(move |engine, declared| {
        let mut module = rhai::Module::new();
        let (c, d) = (cloud.clone(), declared.clone());
        module.set_native_fn("servers", move |x: Ctx| at(&x, &d, || c.servers()));
        let (c, d) = (cloud.clone(), declared.clone());
        module.set_native_fn("server", move |x: Ctx, name: &str| {
            at(&x, &d, || c.server(name))
        });
        let (c, d) = (cloud.clone(), declared.clone());
        module.set_native_fn("images", move |x: Ctx| at(&x, &d, || c.images()));
        let (c, d) = (cloud.clone(), declared.clone());
        module.set_native_fn("dcs", move |x: Ctx| at(&x, &d, || c.dcs()));
        let (c, d) = (cloud.clone(), declared.clone());
        module.set_native_fn("networks", move |x: Ctx| at(&x, &d, || c.networks()));
        let (c, d) = (cloud.clone(), declared.clone());
        module.set_native_fn("pools", move |x: Ctx| at(&x, &d, || c.storage(false)));
        let (c, d) = (cloud.clone(), declared.clone());
        module.set_native_fn("volumes", move |x: Ctx| at(&x, &d, || c.storage(true)));
        let (c, d) = (cloud.clone(), declared.clone());
        module.set_native_fn("balance", move |x: Ctx| at(&x, &d, || c.balance()));
        engine.register_static_module("cloud", module.into());
        let (c, d) = (cloud.clone(), declared.clone());
        engine.register_fn("plan", move |x: Ctx| at(&x, &d, || c.plan(&d)));
        let (c, d) = (cloud.clone(), declared.clone());
        engine.register_fn("exec", move |x: Ctx, limit: &str, command: &str| {
            at(&x, &d, || c.exec(&d, limit, command))
        });
        let (c, d) = (cloud.clone(), declared.clone());
        engine.register_fn("metrics", move |x: Ctx, name: &str| {
            at(&x, &d, || c.metrics(name))
        });
        // Ctrl-C also stops a long evaluation (a loop), not only network calls.
        let c = cloud.clone();
        declared.interrupt_when(move || c.interrupted());
    });
}
