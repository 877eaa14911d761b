//! A sequence diagram of a simulated run as SVG: one lane per host, one row per trace event, an
//! arrow from each packet's sending row to its receiving row (labelled with type, id, QoS, DUP
//! and retain), packets that never arrived ending in a red cross, faults as red bands, scenario
//! steps as grey bands, deliveries to applications in green and broker drops in red.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

use crate::sim::{TraceEvent, BROKER};

const ROW: usize = 18;
const LANE: usize = 260;
const LEFT: usize = 90;
const TOP: usize = 50;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The packet label on an arrow: the packet text without its payload, shortened.
fn label(packet: &str) -> String {
    let mut s = packet.to_owned();
    if s.len() > 48 {
        s.truncate(45);
        s.push_str("...");
    }
    s
}

/// Renders the trace events as a standalone SVG document.
pub fn render(events: &[TraceEvent], title: &str) -> String {
    // Lanes: the broker first, then every other host in order of appearance.
    let mut lanes: Vec<String> = vec![BROKER.to_owned()];
    let lane_of = |name: &str, lanes: &mut Vec<String>| -> usize {
        match lanes.iter().position(|l| l == name) {
            Some(i) => i,
            None => {
                lanes.push(name.to_owned());
                lanes.len() - 1
            }
        }
    };
    for e in events {
        match e {
            TraceEvent::Send { host, peer, .. } | TraceEvent::Recv { host, peer, .. } => {
                lane_of(host, &mut lanes);
                lane_of(peer, &mut lanes);
            }
            other => {
                if let Some(client) = other.client() {
                    lane_of(client, &mut lanes);
                }
            }
        }
    }
    let x = |lane: usize| LEFT + lane * LANE + LANE / 2;
    let y = |row: usize| TOP + row * ROW + ROW;
    let width = LEFT + lanes.len() * LANE + 240;
    let height = TOP + (events.len() + 2) * ROW;
    let mut body = String::new();
    // Pending sends per directed link, matched FIFO with receives of the same packet.
    let mut pending: BTreeMap<(String, String), VecDeque<(usize, String)>> = BTreeMap::new();
    for (row, e) in events.iter().enumerate() {
        let ms = e.ms();
        let _ = writeln!(body, r##"<text x="4" y="{}" class="t">{}.{:03}s</text>"##, y(row) + 4, ms / 1000, ms % 1000);
        match e {
            TraceEvent::Send { host, peer, packet, .. } => {
                pending.entry((host.clone(), peer.clone())).or_default().push_back((row, packet.clone()));
            }
            TraceEvent::Recv { host, peer, packet, .. } => {
                let queue = pending.entry((peer.clone(), host.clone())).or_default();
                let sent_row = match queue.iter().position(|(_, p)| p == packet) {
                    Some(i) => queue.remove(i).map(|(r, _)| r).unwrap_or(row),
                    None => row,
                };
                let (from, to) = (lane_of(peer, &mut lanes), lane_of(host, &mut lanes));
                let class = if packet.starts_with("PUBLISH") { "pub" } else { "ack" };
                let _ = writeln!(
                    body,
                    r##"<line x1="{}" y1="{}" x2="{}" y2="{}" class="{class}" marker-end="url(#arrow)"/><text x="{}" y="{}" class="l">{}</text>"##,
                    x(from),
                    y(sent_row),
                    x(to),
                    y(row),
                    (x(from) + x(to)) / 2 - 100,
                    (y(sent_row) + y(row)) / 2 - 3,
                    esc(&label(packet))
                );
            }
            TraceEvent::Malformed { host, error, .. } => {
                let lane = lane_of(host, &mut lanes);
                let _ = writeln!(
                    body,
                    r##"<text x="{}" y="{}" class="drop">MALFORMED {}</text>"##,
                    x(lane) + 6,
                    y(row) + 4,
                    esc(error)
                );
            }
            TraceEvent::Step { .. } | TraceEvent::Fault { .. } => {
                // A band across every lane: grey for a scenario step, red for a fault.
                let (band, text, label) = match e {
                    TraceEvent::Fault { fault, .. } => ("fault", "f", format!("fault: {fault}")),
                    TraceEvent::Step { step, .. } => ("step", "s", step.clone()),
                    _ => unreachable!("matched above"),
                };
                let _ = writeln!(
                    body,
                    r##"<rect x="{LEFT}" y="{}" width="{}" height="{ROW}" class="{band}"/><text x="{}" y="{}" class="{text}">{}</text>"##,
                    y(row) - ROW / 2 - 2,
                    width - LEFT - 20,
                    LEFT + 6,
                    y(row) + 4,
                    esc(&label)
                );
            }
            TraceEvent::Deliver { client, topic, payload, qos, retain, dup, .. } => {
                let lane = lane_of(client, &mut lanes);
                let flags = format!("q{qos}{}{}", if *retain { " retain" } else { "" }, if *dup { " dup" } else { "" });
                let _ = writeln!(
                    body,
                    r##"<circle cx="{}" cy="{}" r="4" class="dl"/><text x="{}" y="{}" class="d">app: {} = {} {flags}</text>"##,
                    x(lane),
                    y(row),
                    x(lane) + 8,
                    y(row) + 4,
                    esc(topic),
                    esc(payload)
                );
            }
            TraceEvent::Client { client, event, .. } => {
                let lane = lane_of(client, &mut lanes);
                let _ =
                    writeln!(body, r##"<text x="{}" y="{}" class="n">{}</text>"##, x(lane) + 8, y(row) + 4, esc(event));
            }
            TraceEvent::Connected { .. }
            | TraceEvent::Disconnected { .. }
            | TraceEvent::Publish { .. }
            | TraceEvent::Published { .. }
            | TraceEvent::Subscribed { .. }
            | TraceEvent::Subscribe { .. }
            | TraceEvent::Unsubscribed { .. } => {
                let lane = lane_of(e.client().expect("an application event has a client"), &mut lanes);
                let text = e.to_string();
                let text = text.split(":: ").nth(1).unwrap_or(&text).to_owned();
                let _ =
                    writeln!(body, r##"<text x="{}" y="{}" class="n">{}</text>"##, x(lane) + 8, y(row) + 4, esc(&text));
            }
            TraceEvent::SessionOffline { .. } | TraceEvent::SessionConnected { .. } => {
                let text = e.to_string();
                let text = text.split(":: ").nth(1).unwrap_or(&text).to_owned();
                let _ =
                    writeln!(body, r##"<text x="{}" y="{}" class="n">{}</text>"##, x(0) + 8, y(row) + 4, esc(&text));
            }
            TraceEvent::SessionDiscarded { client_id, .. } => {
                let _ = writeln!(
                    body,
                    r##"<text x="{}" y="{}" class="n">session {} discarded</text>"##,
                    x(0) + 8,
                    y(row) + 4,
                    esc(client_id)
                );
            }
            TraceEvent::Broker { event, .. } => {
                let _ =
                    writeln!(body, r##"<text x="{}" y="{}" class="n">{}</text>"##, x(0) + 8, y(row) + 4, esc(event));
            }
            TraceEvent::Drop { client_id, topic, qos, reason, .. } => {
                let _ = writeln!(
                    body,
                    r##"<text x="{}" y="{}" class="drop">dropped for {}: {} q{qos} ({})</text>"##,
                    x(0) + 8,
                    y(row) + 4,
                    esc(client_id),
                    esc(topic),
                    esc(reason)
                );
            }
        }
    }
    // Sends that never arrived: lost to a partition or a crash.
    for ((from, to), queue) in &pending {
        let (a, b) =
            (lanes.iter().position(|l| l == from).unwrap_or(0), lanes.iter().position(|l| l == to).unwrap_or(0));
        for (row, packet) in queue {
            let mid = (x(a) + x(b)) / 2;
            let _ = writeln!(
                body,
                r##"<line x1="{}" y1="{}" x2="{mid}" y2="{}" class="lost"/><text x="{}" y="{}" class="x">✕</text><text x="{}" y="{}" class="drop">{} (never arrived)</text>"##,
                x(a),
                y(*row),
                y(*row),
                mid - 5,
                y(*row) + 5,
                mid + 8,
                y(*row) - 3,
                esc(&label(packet))
            );
        }
    }
    let mut head = String::new();
    let _ = writeln!(
        head,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="monospace" font-size="11">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#444"/></marker></defs>
<style>.pub{{stroke:#1f5fbf;stroke-width:1.4}} .ack{{stroke:#777;stroke-width:1}} .lost{{stroke:#d22;stroke-width:1.4;stroke-dasharray:4 3}} .l{{fill:#222}} .t{{fill:#888}} .step{{fill:#eee}} .fault{{fill:#fdd}} .s{{fill:#555}} .f{{fill:#b00;font-weight:bold}} .d{{fill:#070}} .dl{{fill:#1a1}} .n{{fill:#666;font-style:italic}} .drop{{fill:#d22}} .x{{fill:#d22;font-size:14px;font-weight:bold}} .lane{{stroke:#bbb;stroke-width:1}} .h{{font-weight:bold;font-size:13px}}</style>
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="18" class="h">{}</text>"##,
        esc(title)
    );
    for (i, lane) in lanes.iter().enumerate() {
        let _ = writeln!(
            head,
            r##"<line x1="{}" y1="{}" x2="{}" y2="{}" class="lane"/><text x="{}" y="{}" class="h" text-anchor="middle">{}</text>"##,
            x(i),
            TOP,
            x(i),
            height - 10,
            x(i),
            TOP - 6,
            esc(lane)
        );
    }
    format!("{head}{body}</svg>\n")
}
