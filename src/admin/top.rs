//! `top`: a running bridge's routes, live in the terminal (q or Esc quits).

use super::display::{COLUMNS, cells, title};
use super::{BridgeView, client};
use crate::config::AdminAddress;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::Constraint;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, Row, Table};
use ratatui::{DefaultTerminal, Frame};
use std::time::Duration;

pub fn run(address: &AdminAddress, period: Duration) -> anyhow::Result<()> {
    let mut terminal = ratatui::init();
    let outcome = show(&mut terminal, address, period);
    ratatui::restore();
    outcome
}

fn show(
    terminal: &mut DefaultTerminal,
    address: &AdminAddress,
    period: Duration,
) -> anyhow::Result<()> {
    let mut last: Option<BridgeView> = None;
    loop {
        let problem = match client::view(address) {
            Ok(view) => {
                last = Some(view);
                None
            }
            Err(e) => Some(format!("{e:#}")),
        };
        terminal.draw(|frame| draw(frame, last.as_ref(), problem.as_deref()))?;
        if event::poll(period)?
            && let Event::Key(key) = event::read()?
            && key.kind == KeyEventKind::Press
            && (matches!(key.code, KeyCode::Char('q') | KeyCode::Esc)
                || (key.code == KeyCode::Char('c')
                    && key.modifiers.contains(KeyModifiers::CONTROL)))
        {
            return Ok(());
        }
    }
}

fn draw(frame: &mut Frame, view: Option<&BridgeView>, problem: Option<&str>) {
    let heading = match (view, problem) {
        (_, Some(problem)) => format!(" {problem} (retrying; q quits) "),
        (Some(view), None) => format!(" {} (q quits) ", title(view)),
        (None, None) => " waiting for the bridge (q quits) ".to_string(),
    };
    let rows: Vec<[String; 10]> = view
        .map(|v| v.routes.iter().map(cells).collect())
        .unwrap_or_default();
    let route_width = rows
        .iter()
        .map(|r| r[0].chars().count())
        .max()
        .unwrap_or(0)
        .max(COLUMNS[0].len()) as u16;
    let mut widths = vec![Constraint::Length(route_width), Constraint::Length(14)];
    widths.extend(std::iter::repeat_n(
        Constraint::Length(10),
        COLUMNS.len() - 2,
    ));
    let table = Table::new(rows.into_iter().map(Row::new), widths)
        .header(Row::new(COLUMNS).style(Style::new().add_modifier(Modifier::BOLD)))
        .block(Block::bordered().title(heading));
    frame.render_widget(table, frame.area());
}
