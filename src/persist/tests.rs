//! The durable mode's log, on a disk in memory: each commit recovers; a log cut at any byte
//! recovers the commits before the cut and is cut back to them; a flipped byte never panics and
//! never yields a state no prefix of the commits had; a snapshot that already holds commits (a
//! crash during compaction) is not rolled back by them.

use bytes::Bytes;

use super::*;
use crate::broker::Image;
use crate::protocol::{Connect, Packet, PacketId, Publish, QoS, Subscribe, SubscribeFilter};

fn conf() -> PersistenceConf {
    PersistenceConf { enabled: true, location: PathBuf::from("/db"), sync: true, ..PersistenceConf::default() }
}

fn pid(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

/// A broker in durable mode on `storage`: `reader` (clean session 0) subscribed to t/# and went
/// away, then `writer` published `n` QoS 1 messages, one commit after each input. Returns the
/// storage and the image after each commit.
fn committed(n: u16) -> (MemStorage, Vec<Image>) {
    let mut p = Persister::new(conf(), MemStorage::default());
    let mut broker = p.load(crate::broker::Config::default(), Time::ZERO, 0).unwrap();
    let mut images = vec![broker.image(Time::ZERO, 0)];
    let mut input = |broker: &mut crate::broker::Broker, p: &mut Persister<MemStorage>, conn, packet| {
        broker.handle_packet(conn, packet, Time::ZERO);
        while broker.poll_action().is_some() {}
        if p.begin_commit(broker, Time::ZERO, 0).unwrap() {
            p.finish_commit().unwrap();
            images.push(broker.image(Time::ZERO, 0));
        }
    };
    let reader = broker.handle_connection_opened(Time::ZERO);
    input(&mut broker, &mut p, reader, Packet::Connect(Connect::new("reader", false, 0)));
    let subscribe = Subscribe::new(pid(1), vec![SubscribeFilter::new("t/#", QoS::AtLeastOnce)]);
    input(&mut broker, &mut p, reader, Packet::Subscribe(subscribe));
    input(&mut broker, &mut p, reader, Packet::disconnect());
    let writer = broker.handle_connection_opened(Time::ZERO);
    input(&mut broker, &mut p, writer, Packet::Connect(Connect::new("writer", true, 0)));
    for i in 1..=n {
        let payload = Bytes::from(format!("m{i}"));
        input(
            &mut broker,
            &mut p,
            writer,
            Packet::Publish(Publish::new("t/a", QoS::AtLeastOnce, payload, false, Some(pid(i)))),
        );
    }
    (p.storage, images)
}

fn recover(storage: MemStorage) -> Result<(Image, MemStorage), LoadError> {
    let mut p = Persister::new(conf(), storage);
    let broker = p.load(crate::broker::Config::default(), Time::ZERO, 0)?;
    Ok((broker.image(Time::ZERO, 0), p.storage))
}

fn log_path() -> PathBuf {
    Persister::new(conf(), MemStorage::default()).log_path()
}

#[test]
fn every_commit_is_recovered() {
    let (storage, images) = committed(3);
    assert!(storage.files.contains_key(&log_path()) && !storage.files.contains_key(&conf().path()));
    let (image, _) = recover(storage).unwrap();
    assert_eq!(&image, images.last().unwrap());
    assert_eq!(image.sessions[0].queue.len(), 3, "the three messages queued for the reader");
}

#[test]
fn a_log_cut_at_any_byte_recovers_the_commits_before_the_cut_and_is_cut_back_to_them() {
    let (storage, images) = committed(3);
    let log = storage.files[&log_path()].clone();
    for len in 0..log.len() {
        let mut cut = storage.clone();
        cut.files.insert(log_path(), log[..len].to_vec());
        let (image, after) = recover(cut).unwrap_or_else(|e| panic!("cut at {len}: {e}"));
        assert!(images.contains(&image), "cut at {len}: a state no commit had");
        let kept = &after.files[&log_path()];
        let clean = kept.is_empty() || format::records(kept).1.is_none();
        assert!(kept.len() <= len && clean, "cut at {len}: not cut back");
    }
}

#[test]
fn a_flipped_byte_never_panics_nor_invents_a_state() {
    let (storage, images) = committed(2);
    let log = storage.files[&log_path()].clone();
    for at in 0..log.len() {
        let mut bad = storage.clone();
        let mut bytes = log.clone();
        bytes[at] ^= 0x5a;
        bad.files.insert(log_path(), bytes);
        match recover(bad) {
            Ok((image, _)) => assert!(images.contains(&image), "flip at {at}: a state no commit had"),
            // Only a damaged header refuses the log outright.
            Err(e) => assert!(at < format::header_len(), "flip at {at}: {e}"),
        }
    }
}

#[test]
fn commits_a_snapshot_already_holds_are_not_replayed_over_it() {
    let (mut storage, images) = committed(2);
    // A compaction wrote the snapshot of the last state and crashed before emptying the log.
    let last = images.last().unwrap();
    let seq = format::records(&storage.files[&log_path()]).0.len() as u64;
    storage.files.insert(conf().path(), format::encode_snapshot_at(last, 0, seq));
    let (image, _) = recover(storage.clone()).unwrap();
    assert_eq!(&image, last);
    // A snapshot naming an older commit gets the later ones replayed.
    storage.files.insert(conf().path(), format::encode_snapshot_at(&images[1], 0, 1));
    let (image, _) = recover(storage).unwrap();
    assert_eq!(&image, last);
}

#[test]
fn a_log_left_by_durable_mode_counts_when_the_option_is_turned_off() {
    let (storage, images) = committed(2);
    let mut p = Persister::new(PersistenceConf { sync: false, ..conf() }, storage);
    let broker = p.load(crate::broker::Config::default(), Time::ZERO, 0).unwrap();
    assert_eq!(&broker.image(Time::ZERO, 0), images.last().unwrap());
    // Folded into the snapshot, the log emptied: a later snapshot is not rolled back by it.
    assert_eq!(p.storage.files[&log_path()].len(), format::header_len());
    let (image, _) = recover(p.storage).unwrap();
    assert_eq!(&image, images.last().unwrap());
}

#[test]
fn a_crash_at_any_step_of_a_compaction_recovers_the_committed_state() {
    let (storage, images) = committed(3);
    let last = images.last().unwrap();
    let limited = || PersistenceConf { log_limit: 1, ..conf() };
    let mut p = Persister::new(limited(), storage);
    p.load(crate::broker::Config::default(), Time::ZERO, 0).unwrap();
    assert!(p.compaction_due(), "a log over the limit and longer than the (absent) snapshot");
    // After each step, the files as a crash would leave them recover the same state.
    let recovered = |storage: &MemStorage| recover(storage.clone()).unwrap().0;
    p.compact_write(0).unwrap();
    assert_eq!(&recovered(&p.storage), last, "new snapshot written, not installed");
    p.compact_install().unwrap();
    assert_eq!(&recovered(&p.storage), last, "new snapshot installed, log not emptied");
    assert_eq!(p.compact_truncate().unwrap(), images.len() as u64 - 1, "every commit folded in");
    assert_eq!(&recovered(&p.storage), last, "log emptied");
    assert_eq!(p.storage.files[&log_path()].len(), format::header_len());
    assert!(!p.compaction_due(), "an empty log is not compacted again");
}

#[test]
fn a_log_shorter_than_its_snapshot_waits() {
    let (storage, _) = committed(3);
    let mut p = Persister::new(PersistenceConf { log_limit: 1, ..conf() }, storage);
    p.load(crate::broker::Config::default(), Time::ZERO, 0).unwrap();
    p.compact_write(0).unwrap();
    p.compact_install().unwrap();
    p.compact_truncate().unwrap();
    // One small commit: over the limit, but the snapshot is longer; recovery reads both anyway.
    let mut broker = p.load(crate::broker::Config::default(), Time::ZERO, 0).unwrap();
    let c = broker.handle_connection_opened(Time::ZERO);
    broker.handle_packet(c, Packet::Connect(Connect::new("another", false, 0)), Time::ZERO);
    assert!(p.begin_commit(&broker, Time::ZERO, 0).unwrap());
    p.finish_commit().unwrap();
    assert!(!p.compaction_due());
}

#[test]
fn a_repair_is_reported_once_naming_the_file_and_where() {
    let (mut storage, _) = committed(2);
    let log = storage.files[&log_path()].clone();
    storage.files.insert(log_path(), log[..log.len() - 3].to_vec());
    let mut p = Persister::new(conf(), storage);
    p.load(crate::broker::Config::default(), Time::ZERO, 0).unwrap();
    let repairs = p.take_repairs();
    let kept = p.storage.files[&log_path()].len() as u64;
    match &repairs[..] {
        [crate::broker::Event::LogRepaired { at, dropped, problem }] => {
            assert_eq!((*at, at + dropped), (kept, log.len() as u64 - 3));
            assert!(problem.contains(&log_path().display().to_string()), "{problem}");
        }
        other => panic!("one repair expected: {other:?}"),
    }
    assert!(p.take_repairs().is_empty(), "reported once");
}

#[test]
fn a_damaged_file_is_set_aside_and_the_broker_starts_empty_only_when_asked() {
    let (storage, _) = committed(2);
    let mut damaged = storage.clone();
    // Another program's file where the snapshot should be.
    damaged.files.insert(conf().path(), b"not a snapshot at all".to_vec());
    let refused = Persister::new(conf(), damaged.clone()).load(crate::broker::Config::default(), Time::ZERO, 0);
    assert!(matches!(refused, Err(LoadError::Format { .. })), "refused by default");
    let conf = PersistenceConf { start_empty_on_damage: true, ..conf() };
    let mut p = Persister::new(conf.clone(), damaged.clone());
    let broker = p.load(crate::broker::Config::default(), Time::ZERO, 0).unwrap();
    assert_eq!(broker.session_count(), 0, "started empty");
    // Nothing deleted: both files kept beside, byte for byte.
    let aside = |path: PathBuf| PathBuf::from(format!("{}.damaged", path.display()));
    assert_eq!(p.storage.files[&aside(conf.path())], damaged.files[&conf.path()]);
    assert_eq!(p.storage.files[&aside(log_path())], damaged.files[&log_path()]);
    assert!(!p.storage.files.contains_key(&conf.path()), "the damaged snapshot is no longer read");
    // And the broker goes on persisting from empty.
    let mut broker = broker;
    let c = broker.handle_connection_opened(Time::ZERO);
    broker.handle_packet(c, Packet::Connect(Connect::new("fresh", false, 0)), Time::ZERO);
    assert!(p.begin_commit(&broker, Time::ZERO, 0).unwrap());
    p.finish_commit().unwrap();
    let (image, _) = recover(p.storage).unwrap();
    assert_eq!(image.sessions.iter().map(|s| s.client_id.as_str()).collect::<Vec<_>>(), ["fresh"]);
}
