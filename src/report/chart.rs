//! A sequence diagram of a simulated run as SVG: one lane per host, one row per trace event, an
//! arrow from each packet's sending row to its receiving row (labelled with type, id, QoS, DUP
//! and retain), packets that never arrived ending in a red cross, faults as red bands, scenario
//! steps as grey bands, deliveries to applications in green and broker drops in red.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

use super::escape::{shorten, text as esc};
use crate::protocol::PacketSummary;
use crate::trace::{BrokerEvent, TraceEvent, BROKER};

const ROW: usize = 18;
const LANE: usize = 260;
const LEFT: usize = 90;
const TOP: usize = 50;

/// The packet label on an arrow: the packet text, shortened.
fn label(packet: &PacketSummary) -> String {
    shorten(&packet.to_string(), 48)
}

/// Renders the trace events as a standalone SVG document.
pub fn render(events: &[TraceEvent], title: &str) -> String {
    render_at_most(events, title, usize::MAX)
}

/// `render`, drawing only the first `max_rows` events (a run of thousands of messages would make
/// a chart hundreds of thousands of pixels tall), with a last band saying how many were left out.
/// Packets are still paired over the whole trace, so none is drawn as lost for being cut off.
pub fn render_at_most(events: &[TraceEvent], title: &str, max_rows: usize) -> String {
    let shown = events.len().min(max_rows);
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
    let cut = events.len() > shown;
    let height = TOP + (shown + 2 + usize::from(cut)) * ROW;
    let mut body = String::new();
    // Where the text furthest right ends (monospace, 11 px: 7 px a character), as it is written.
    let mut widest = 0;
    let mut reach = |x: usize, content: &str| widest = widest.max(x + content.chars().count() * 7);
    let mut links = Links::default();
    for (row, e) in events.iter().enumerate() {
        if row >= shown {
            links.observe(row, e);
            continue;
        }
        let ms = e.ms();
        let time = format!("{}.{:03}s", ms / 1000, ms % 1000);
        reach(4, &time);
        let _ = writeln!(body, r##"<text x="4" y="{}" class="t">{time}</text>"##, y(row) + 4);
        let sent_row = links.observe(row, e);
        match e {
            TraceEvent::Send { .. } => {}
            TraceEvent::Recv { host, peer, packet, .. } => {
                let sent_row = sent_row.unwrap_or(row);
                let (from, to) = (lane_of(peer, &mut lanes), lane_of(host, &mut lanes));
                let class = if packet.publish().is_some() { "pub" } else { "ack" };
                // The label starts at the sender's end, just above the arrow, on the side it leaves by.
                let (label_x, anchor) = if to >= from { (x(from) + 8, "start") } else { (x(from) - 8, "end") };
                let text = esc(&label(packet));
                reach(label_x, &text);
                let _ = writeln!(
                    body,
                    r##"<line x1="{}" y1="{}" x2="{}" y2="{}" class="{class}" marker-end="url(#arrow)"/><text x="{label_x}" y="{}" class="l" text-anchor="{anchor}">{}</text>"##,
                    x(from),
                    y(sent_row),
                    x(to),
                    y(row),
                    y(sent_row) - 3,
                    text
                );
            }
            TraceEvent::Malformed { host, error, .. } => {
                let lane = lane_of(host, &mut lanes);
                let text = format!("MALFORMED {}", esc(error));
                reach(x(lane) + 6, &text);
                let _ = writeln!(body, r##"<text x="{}" y="{}" class="drop">{text}</text>"##, x(lane) + 6, y(row) + 4);
            }
            TraceEvent::Step { .. } | TraceEvent::Fault { .. } => {
                // A band across every lane: grey for a scenario step, red for a fault.
                let (band, text, label) = match e {
                    TraceEvent::Fault { fault, .. } => ("fault", "f", format!("fault: {fault}")),
                    TraceEvent::Step { step, .. } => ("step", "s", step.clone()),
                    _ => unreachable!("matched above"),
                };
                let label = esc(&label);
                reach(LEFT + 6, &label);
                let _ = writeln!(
                    body,
                    r##"<rect x="{LEFT}" y="{}" width="{{BAND_WIDTH}}" height="{ROW}" class="{band}"/><text x="{}" y="{}" class="{text}">{}</text>"##,
                    y(row) - ROW / 2 - 2,
                    LEFT + 6,
                    y(row) + 4,
                    label
                );
            }
            TraceEvent::Deliver { client, topic, payload, qos, retain, dup, .. } => {
                let lane = lane_of(client, &mut lanes);
                let flags = format!("q{qos}{}{}", if *retain { " retain" } else { "" }, if *dup { " dup" } else { "" });
                let text = format!("app: {} = {} {flags}", esc(topic), esc(payload));
                reach(x(lane) + 8, &text);
                let _ = writeln!(
                    body,
                    r##"<circle cx="{}" cy="{}" r="4" class="dl"/><text x="{}" y="{}" class="d">{text}</text>"##,
                    x(lane),
                    y(row),
                    x(lane) + 8,
                    y(row) + 4,
                );
            }
            TraceEvent::Connected { .. }
            | TraceEvent::Disconnected { .. }
            | TraceEvent::Publish { .. }
            | TraceEvent::Published { .. }
            | TraceEvent::Subscribed { .. }
            | TraceEvent::Subscribe { .. }
            | TraceEvent::Unsubscribed { .. }
            | TraceEvent::Client { .. } => {
                let lane = lane_of(e.client().expect("an application event has a client"), &mut lanes);
                let text = esc(&e.application_text());
                reach(x(lane) + 8, &text);
                let _ = writeln!(body, r##"<text x="{}" y="{}" class="n">{text}</text>"##, x(lane) + 8, y(row) + 4);
            }
            TraceEvent::Broker { event, .. } => {
                let class = if matches!(event, BrokerEvent::Dropped { .. }) { "drop" } else { "n" };
                let text = esc(&event.to_string());
                reach(x(0) + 8, &text);
                let _ = writeln!(body, r##"<text x="{}" y="{}" class="{class}">{text}</text>"##, x(0) + 8, y(row) + 4);
            }
        }
    }
    // Sends that never arrived: lost to a partition or a crash. The dashed line stops just short
    // of the receiver's lane, so it is clear whom it was for; the label sits above its start.
    if cut {
        let text = format!(
            "... {} more events not drawn: `mqtt-sim replay FILE --seed S --chart out.svg` draws them all",
            events.len() - shown
        );
        reach(LEFT + 6, &text);
        let _ = writeln!(
            body,
            r##"<rect x="{LEFT}" y="{}" width="{{BAND_WIDTH}}" height="{ROW}" class="step"/><text x="{}" y="{}" class="s">{text}</text>"##,
            y(shown) - ROW / 2 - 2,
            LEFT + 6,
            y(shown) + 4,
        );
    }
    for (from, to, row, packet) in links.lost().filter(|&(_, _, row, _)| row < shown) {
        let (a, b) =
            (lanes.iter().position(|l| l == from).unwrap_or(0), lanes.iter().position(|l| l == to).unwrap_or(0));
        let end = if b >= a { x(b).saturating_sub(24) } else { x(b) + 24 };
        let text_x = if b >= a { x(a) + 6 } else { x(b) + 30 };
        // Rightwards the label must end before the cross (7 px a character).
        let room = if b >= a { end.saturating_sub(text_x + 12) / 7 } else { usize::MAX };
        let text = esc(&shorten(&format!("{} (never arrived)", label(packet)), room.max(16)));
        reach(end - 5, "✕");
        reach(text_x, &text);
        let _ = writeln!(
            body,
            r##"<line x1="{}" y1="{}" x2="{end}" y2="{}" class="lost"/><text x="{}" y="{}" class="x">✕</text><text x="{text_x}" y="{}" class="drop">{}</text>"##,
            x(a),
            y(row),
            y(row),
            end - 5,
            y(row) + 5,
            y(row) - 3,
            text
        );
    }
    let width = (LEFT + lanes.len() * LANE + 40).max(widest + 20);
    let body = body.replace("{BAND_WIDTH}", &(width - LEFT - 20).to_string());
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

/// Packets written and not yet read, per directed link (sender, receiver), in generations: one
/// per connection. TCP delivers a connection's bytes in order and nothing written on a dead
/// connection arrives later, so a received packet is the oldest unread one of its connection
/// (the newest connection whose oldest unread packet it is); a send on a connection that died
/// before it was read stays unmatched, and is drawn as lost.
#[derive(Default)]
struct Links(BTreeMap<(String, String), VecDeque<Unread>>);

/// One connection's packets written and not yet read: (row, packet), oldest first.
type Unread = VecDeque<(usize, PacketSummary)>;

impl Links {
    /// Follows one trace event at `row`; for a packet read, returns the row it was written at.
    fn observe(&mut self, row: usize, e: &TraceEvent) -> Option<usize> {
        match e {
            TraceEvent::Send { host, peer, packet, .. } => {
                if matches!(packet, PacketSummary::Connect { .. }) {
                    self.new_connection(host, peer);
                }
                self.send(host, peer, row, packet);
                None
            }
            TraceEvent::Recv { host, peer, packet, .. } => {
                let sent = self.receive(peer, host, packet);
                if matches!(packet, PacketSummary::Connect { .. }) {
                    // What the receiver writes from now on goes on the new connection.
                    self.new_connection(host, peer);
                }
                sent
            }
            _ => None,
        }
    }

    /// From now on `from` writes to `to` on a new connection.
    fn new_connection(&mut self, from: &str, to: &str) {
        self.0.entry((from.to_owned(), to.to_owned())).or_default().push_back(VecDeque::new());
    }

    fn send(&mut self, from: &str, to: &str, row: usize, packet: &PacketSummary) {
        let generations = self.0.entry((from.to_owned(), to.to_owned())).or_default();
        if generations.is_empty() {
            generations.push_back(VecDeque::new());
        }
        generations.back_mut().expect("one generation at least").push_back((row, packet.clone()));
    }

    /// The row where the packet `to` read from `from` was written.
    fn receive(&mut self, from: &str, to: &str, packet: &PacketSummary) -> Option<usize> {
        let generations = self.0.get_mut(&(from.to_owned(), to.to_owned()))?;
        // Newest connection first: a client reads only its current connection, and the broker
        // stops reading an old one once it has read the CONNECT of the new one (takeover).
        if let Some(g) = generations.iter_mut().rev().find(|g| g.front().is_some_and(|(_, p)| p == packet)) {
            return g.pop_front().map(|(row, _)| row);
        }
        // Not in connection order (a trace this model does not fit): the oldest such send.
        let g = generations.iter_mut().find(|g| g.iter().any(|(_, p)| p == packet))?;
        let i = g.iter().position(|(_, p)| p == packet)?;
        g.remove(i).map(|(row, _)| row)
    }

    /// What was never read: (sender, receiver, row, packet).
    fn lost(&self) -> impl Iterator<Item = (&str, &str, usize, &PacketSummary)> {
        self.0.iter().flat_map(|((from, to), generations)| {
            generations.iter().flatten().map(move |(row, p)| (from.as_str(), to.as_str(), *row, p))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::protocol::PacketSummary as P;

    fn send(ms: u64, from: &str, to: &str, packet: P) -> [TraceEvent; 1] {
        [TraceEvent::Send { ms, host: from.into(), peer: to.into(), packet }]
    }
    fn recv(ms: u64, at: &str, from: &str, packet: P) -> [TraceEvent; 1] {
        [TraceEvent::Recv { ms, host: at.into(), peer: from.into(), packet }]
    }

    #[test]
    fn a_packet_lost_with_its_connection_is_the_lost_one_not_its_resend() {
        // Found in a browser: the PUBREL lost at row 1 was drawn as delivered and its re-send
        // on the next connection as lost.
        let events: Vec<TraceEvent> = [
            send(1, "c", BROKER, P::connect_for_test("c", false)),
            recv(2, BROKER, "c", P::connect_for_test("c", false)),
            send(3, BROKER, "c", P::Pubrel { pkid: 1, reason: 0 }),
            send(4, "c", BROKER, P::connect_for_test("c", false)),
            recv(5, BROKER, "c", P::connect_for_test("c", false)),
            send(6, BROKER, "c", P::Pubrel { pkid: 1, reason: 0 }),
            recv(7, "c", BROKER, P::Pubrel { pkid: 1, reason: 0 }),
        ]
        .into_iter()
        .flatten()
        .collect();
        let mut links = Links::default();
        let mut arrows = Vec::new();
        for (row, e) in events.iter().enumerate() {
            let sent_row = links.observe(row, e);
            if matches!(e, TraceEvent::Recv { .. }) {
                arrows.push((sent_row, row));
            }
        }
        assert_eq!(arrows, vec![(Some(0), 1), (Some(3), 4), (Some(5), 6)]);
        assert_eq!(links.lost().collect::<Vec<_>>(), vec![(BROKER, "c", 2, &P::Pubrel { pkid: 1, reason: 0 })]);
        // The rendered chart says the same.
        let svg = render(&events, "t");
        assert_eq!(svg.matches("(never arrived)").count(), 1);
    }

    #[test]
    fn a_cut_chart_draws_the_first_rows_and_loses_nothing_to_the_cut() {
        let events: Vec<TraceEvent> = (0..10)
            .flat_map(|i| [send(i, "c", BROKER, P::Pingreq), recv(i, BROKER, "c", P::Pingreq)])
            .flatten()
            .collect();
        // Row 2's PINGREQ is read at row 3, beyond the cut: not drawn, and not lost either.
        let svg = render_at_most(&events, "t", 3);
        assert!(svg.contains("17 more events not drawn"));
        assert_eq!(svg.matches("never arrived").count(), 0);
        assert_eq!(svg.matches("marker-end").count(), 1, "one arrow, for the pair within the cut");
        assert_eq!(render(&events, "t").matches("marker-end").count(), 10);
    }

    #[test]
    fn non_ascii_and_control_characters_neither_panic_nor_break_the_xml() {
        let topic = format!("a{}", "é".repeat(40));
        let packet = P::publish_for_test(None, 0, false, false, &topic, "x");
        let events: Vec<TraceEvent> = [
            send(1, "c", BROKER, packet),
            [TraceEvent::Deliver {
                ms: 2,
                client: "c".into(),
                topic,
                payload: "\u{1}\u{1b}".into(),
                qos: 0,
                retain: false,
                dup: false,
            }],
        ]
        .into_iter()
        .flatten()
        .collect();
        let svg = render(&events, "t");
        assert!(!svg.contains('\u{1}') && !svg.contains('\u{1b}'), "control characters escaped");
        assert!(svg.contains("\\u{1}"));
    }
}
