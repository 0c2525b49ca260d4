//! `ict top`: a live terminal view of the servers' metrics (ratatui on crossterm): the
//! `ict metrics` table plus sparklines of recent CPU, memory and network per server.
//!
//! Keys: `c`/`m`/`n`/`d` sort by CPU, memory, network, disk (`s` by name), `/` starts a filter
//! (a substring, or a glob with `*`; Enter keeps it, Esc clears it), `q` or Ctrl-C quits.
//! The terminal is restored on every way out: return, error, and panic (`ratatui::init`
//! installs a panic hook that restores it before the message is printed).
//!
//! Figures arrive on a channel from the caller's scrape loop; keys come from a reader thread.
//! Depends on `metrics` types, `ui::metrics` and ratatui.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Sparkline, Table};
use ratatui::Frame;
use tokio::sync::mpsc;

use super::metrics::{cells, worst_disk, HEADERS};
use crate::metrics::HostFigures;

/// How many refreshes the sparklines remember.
const HISTORY: usize = 120;

/// What the rows are sorted by (largest first, except names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    Name,
    Cpu,
    Memory,
    Network,
    Disk,
}

impl Sort {
    fn label(self) -> &'static str {
        match self {
            Sort::Name => "name",
            Sort::Cpu => "cpu",
            Sort::Memory => "memory",
            Sort::Network => "network",
            Sort::Disk => "disk",
        }
    }

    fn key(self, row: &HostFigures) -> Option<f64> {
        let f = row.figures.as_ref()?;
        match self {
            Sort::Name => None,
            Sort::Cpu => f.cpu_busy_percent,
            Sort::Memory => f.memory_used_percent,
            Sort::Network => Some(
                f.network_rx_bytes_per_second.unwrap_or(0.0)
                    + f.network_tx_bytes_per_second.unwrap_or(0.0),
            ),
            Sort::Disk => worst_disk(f).0,
        }
    }
}

/// Recent values of one server, scaled for sparklines.
#[derive(Debug, Default)]
struct History {
    cpu: VecDeque<u64>,
    memory: VecDeque<u64>,
    network: VecDeque<u64>,
}

fn push(series: &mut VecDeque<u64>, value: u64) {
    if series.len() == HISTORY {
        series.pop_front();
    }
    series.push_back(value);
}

/// The view's state.
struct App {
    title: String,
    rows: Vec<HostFigures>,
    history: HashMap<String, History>,
    sort: Sort,
    filter: String,
    /// The filter being typed after `/`.
    editing: Option<String>,
    refreshes: u64,
}

/// What a key asks for.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    Continue,
    Quit,
}

impl App {
    fn new(title: String) -> App {
        App {
            title,
            rows: Vec::new(),
            history: HashMap::new(),
            sort: Sort::Cpu,
            filter: String::new(),
            editing: None,
            refreshes: 0,
        }
    }

    fn update(&mut self, rows: Vec<HostFigures>) {
        for row in &rows {
            let Some(f) = &row.figures else { continue };
            let history = self.history.entry(row.name.clone()).or_default();
            push(
                &mut history.cpu,
                f.cpu_busy_percent.unwrap_or(0.0).round() as u64,
            );
            push(
                &mut history.memory,
                f.memory_used_percent.unwrap_or(0.0).round() as u64,
            );
            let net = f.network_rx_bytes_per_second.unwrap_or(0.0)
                + f.network_tx_bytes_per_second.unwrap_or(0.0);
            push(&mut history.network, net.round() as u64);
        }
        self.rows = rows;
        self.refreshes += 1;
    }

    fn key(&mut self, key: KeyEvent) -> Action {
        if key.kind == KeyEventKind::Release {
            return Action::Continue;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Action::Quit;
        }
        if let Some(typed) = &mut self.editing {
            match key.code {
                KeyCode::Enter => self.editing = None,
                KeyCode::Esc => {
                    self.editing = None;
                    self.filter.clear();
                }
                KeyCode::Backspace => {
                    typed.pop();
                    self.filter.clone_from(typed);
                }
                KeyCode::Char(c) => {
                    typed.push(c);
                    self.filter.clone_from(typed);
                }
                _ => {}
            }
            return Action::Continue;
        }
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return Action::Quit,
            KeyCode::Char('c') => self.sort = Sort::Cpu,
            KeyCode::Char('m') => self.sort = Sort::Memory,
            KeyCode::Char('n') => self.sort = Sort::Network,
            KeyCode::Char('d') => self.sort = Sort::Disk,
            KeyCode::Char('s') => self.sort = Sort::Name,
            KeyCode::Char('/') => self.editing = Some(self.filter.clone()),
            _ => {}
        }
        Action::Continue
    }

    /// The rows to show: filtered, then sorted (largest first; unknown last; ties by name).
    fn visible(&self) -> Vec<&HostFigures> {
        let mut rows: Vec<&HostFigures> = self
            .rows
            .iter()
            .filter(|row| matches_filter(&self.filter, &row.name))
            .collect();
        rows.sort_by(|a, b| {
            let (ka, kb) = (self.sort.key(a), self.sort.key(b));
            match (ka, kb) {
                (Some(x), Some(y)) => y.total_cmp(&x),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            }
            .then_with(|| a.name.cmp(&b.name))
        });
        rows
    }

    fn draw(&self, frame: &mut Frame<'_>) {
        let rows = self.visible();
        let table_height = u16::try_from(rows.len())
            .unwrap_or(u16::MAX)
            .saturating_add(1);
        let [header, table, sparks, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Max(table_height),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .areas(frame.area());
        let filter = match &self.editing {
            Some(typed) => format!("  filter: /{typed}_"),
            None if !self.filter.is_empty() => format!("  filter: {}", self.filter),
            None => String::new(),
        };
        let status = if self.refreshes == 0 {
            "  scraping…".to_owned()
        } else {
            String::new()
        };
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled("ict top", Style::new().add_modifier(Modifier::BOLD)),
                Span::raw(format!(
                    "  {}  {} of {} servers  sort: {}{filter}{status}",
                    self.title,
                    rows.len(),
                    self.rows.len(),
                    self.sort.label()
                )),
            ])),
            header,
        );
        self.draw_table(frame, table, &rows);
        self.draw_sparklines(frame, sparks, &rows);
        frame.render_widget(
            Paragraph::new("c/m/n/d sort by cpu/mem/net/disk · s name · / filter · q quit")
                .style(Style::new().fg(Color::DarkGray)),
            footer,
        );
    }

    fn draw_table(&self, frame: &mut Frame<'_>, area: Rect, rows: &[&HostFigures]) {
        let body: Vec<Row<'_>> = rows
            .iter()
            .map(|row| {
                let style = if row.figures.is_none() {
                    Style::new().fg(Color::Red)
                } else {
                    Style::new()
                };
                Row::new(cells(row).into_iter().map(Cell::from)).style(style)
            })
            .collect();
        let name_width = rows
            .iter()
            .map(|r| r.name.chars().count())
            .max()
            .unwrap_or(6)
            .clamp(6, 24);
        let mut widths = vec![Constraint::Length(u16::try_from(name_width).unwrap_or(24))];
        widths.extend([6, 6, 6, 6, 6, 3, 9, 9, 9, 9, 8].map(Constraint::Length));
        widths.push(Constraint::Fill(1));
        let table = Table::new(body, widths).header(
            Row::new(HEADERS).style(Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)),
        );
        frame.render_widget(table, area);
        let _ = self;
    }

    fn draw_sparklines(&self, frame: &mut Frame<'_>, area: Rect, rows: &[&HostFigures]) {
        if area.height < 2 {
            return;
        }
        let [title, lines] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        frame.render_widget(
            Paragraph::new("recent: CPU %   |   memory %   |   network B/s")
                .style(Style::new().add_modifier(Modifier::BOLD)),
            title,
        );
        let empty = History::default();
        for (row, line) in rows.iter().zip(lines.rows()) {
            let history = self.history.get(&row.name).unwrap_or(&empty);
            let [name, cpu, memory, network] = Layout::horizontal([
                Constraint::Length(16),
                Constraint::Fill(1),
                Constraint::Fill(1),
                Constraint::Fill(1),
            ])
            .spacing(1)
            .areas(line);
            frame.render_widget(Paragraph::new(row.name.as_str()), name);
            let spark = |series: &VecDeque<u64>, max: Option<u64>, color: Color, width: u16| {
                let tail: Vec<u64> = series
                    .iter()
                    .skip(series.len().saturating_sub(usize::from(width)))
                    .copied()
                    .collect();
                let mut widget = Sparkline::default()
                    .data(&tail)
                    .style(Style::new().fg(color));
                if let Some(max) = max {
                    widget = widget.max(max);
                }
                widget
            };
            frame.render_widget(spark(&history.cpu, Some(100), Color::Green, cpu.width), cpu);
            frame.render_widget(
                spark(&history.memory, Some(100), Color::Yellow, memory.width),
                memory,
            );
            frame.render_widget(
                spark(&history.network, None, Color::Cyan, network.width),
                network,
            );
        }
    }
}

/// Whether `name` passes the filter: empty passes all; with `*` a glob, else a substring.
fn matches_filter(filter: &str, name: &str) -> bool {
    if filter.is_empty() {
        return true;
    }
    if !filter.contains('*') {
        return name.contains(filter);
    }
    let parts: Vec<&str> = filter.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Restores the terminal when dropped (normal return or error; panics use ratatui's hook).
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Runs the view until `q`: shows every batch of figures from `updates` as it arrives.
/// Fails at once, with a message, when standard output is not a terminal.
pub async fn run(mut updates: mpsc::Receiver<Vec<HostFigures>>, title: String) -> io::Result<()> {
    if !io::IsTerminal::is_terminal(&io::stdout()) {
        return Err(io::Error::other(
            "`ict top` needs a terminal; use `ict metrics` (or `--json`) for output to a file or pipe",
        ));
    }
    let mut terminal = ratatui::try_init()?;
    let _restore = Restore;
    let (events_tx, mut events) = mpsc::channel::<Event>(64);
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match event::poll(Duration::from_millis(100)) {
                    Ok(true) => match event::read() {
                        Ok(event) => {
                            if events_tx.blocking_send(event).is_err() {
                                break;
                            }
                        }
                        Err(_) => break,
                    },
                    Ok(false) => {}
                    Err(_) => break,
                }
            }
        })
    };
    let mut app = App::new(title);
    let result = loop {
        if let Err(error) = terminal.draw(|frame| app.draw(frame)) {
            break Err(error);
        }
        tokio::select! {
            Some(rows) = updates.recv() => app.update(rows),
            Some(event) = events.recv() => {
                if let Event::Key(key) = event {
                    if app.key(key) == Action::Quit {
                        break Ok(());
                    }
                }
            }
            else => break Ok(()),
        }
    };
    stop.store(true, Ordering::Relaxed);
    drop(events);
    let _ = reader.join();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::NodeFigures;

    fn row(name: &str, cpu: Option<f64>) -> HostFigures {
        HostFigures {
            name: name.into(),
            endpoint: String::new(),
            figures: cpu.map(|c| NodeFigures {
                cpu_busy_percent: Some(c),
                memory_used_percent: Some(100.0 - c),
                ..NodeFigures::default()
            }),
            error: cpu.is_none().then(|| "down".into()),
            scrape_ms: 0.0,
        }
    }

    fn press(app: &mut App, code: KeyCode) -> Action {
        app.key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn keys_sort_filter_and_quit() {
        let mut app = App::new("t".into());
        app.update(vec![
            row("web-1", Some(10.0)),
            row("db-1", None),
            row("web-2", Some(70.0)),
        ]);
        let names = |app: &App| {
            app.visible()
                .iter()
                .map(|r| r.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&app), ["web-2", "web-1", "db-1"]);
        press(&mut app, KeyCode::Char('m'));
        assert_eq!(names(&app), ["web-1", "web-2", "db-1"]);
        press(&mut app, KeyCode::Char('/'));
        for c in "web-*1".chars() {
            assert_eq!(
                press(&mut app, KeyCode::Char(c)),
                Action::Continue,
                "typing q would not quit"
            );
        }
        press(&mut app, KeyCode::Enter);
        assert_eq!(names(&app), ["web-1"]);
        press(&mut app, KeyCode::Char('/'));
        press(&mut app, KeyCode::Esc);
        assert_eq!(names(&app).len(), 3);
        assert_eq!(press(&mut app, KeyCode::Char('q')), Action::Quit);
    }

    #[test]
    fn globs_and_substrings() {
        assert!(matches_filter("", "x"));
        assert!(matches_filter("eb", "web-1"));
        assert!(matches_filter("web-*", "web-1"));
        assert!(matches_filter("*-1", "web-1"));
        assert!(matches_filter("w*b*1", "web-1"));
        assert!(!matches_filter("db*", "web-1"));
        assert!(!matches_filter("web-1*1", "web-1"));
    }

    #[test]
    fn history_is_bounded() {
        let mut app = App::new("t".into());
        for _ in 0..(HISTORY + 30) {
            app.update(vec![row("a", Some(50.0))]);
        }
        assert_eq!(app.history["a"].cpu.len(), HISTORY);
        assert_eq!(app.history["a"].memory.back(), Some(&50));
    }
}
