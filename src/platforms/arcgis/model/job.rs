//! The upgrades job, read in one pass that keeps only its last [`MAX_MESSAGES`] messages: a job
//! can log without end, and memory must not grow with it.

use std::collections::VecDeque;
use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::{Loose, fields_of};
use crate::error::{Error, excerpt};

/// Job messages kept from one reading.
pub const MAX_MESSAGES: usize = 500;
/// Message code of "rollback started".
const ROLLBACK_STARTED: i64 = 2072;

/// `status` of the upgrades resource, but its messages: `{"state":S,"code":N,…}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StatusFields {
    state: Loose,
    code: Loose,
}

/// One message of the job: `{"message":"…","when":<epoch ms>,"code":<int>}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MessageFields {
    message: Loose,
    when: Loose,
    code: Loose,
}

/// One message of the job, as judged and shown.
#[derive(Debug, Clone, Hash)]
pub struct JobMessage {
    pub text: String,
    pub when: Option<i64>,
    /// `when` as shown: a date, or the raw value when it is none.
    pub stamp: String,
    pub code: Option<i64>,
}

impl JobMessage {
    /// `item` as shown; one that is no message object is shown as the server wrote it.
    fn read(item: &Value) -> Self {
        Self::new(item, &fields_of(item))
    }

    /// `item` as shown, its fields already read.
    fn new(item: &Value, fields: &MessageFields) -> Self {
        Self {
            text: fields
                .message
                .as_str()
                .map_or_else(|| item.to_string(), str::to_string),
            when: fields.when.epoch_ms(),
            stamp: fields.when.when_label(),
            code: fields.code.integer(),
        }
    }
}

/// `status` of the upgrades resource.
#[derive(Debug)]
pub struct Job {
    pub state: String,
    pub code: Option<i64>,
    /// The last [`MAX_MESSAGES`] messages, in the server's order.
    pub messages: Vec<JobMessage>,
    /// Messages before those, not kept.
    pub dropped: usize,
    /// The newest `when` among all messages, kept or not.
    pub newest: Option<i64>,
    /// The last "rollback started" message (code 2072), kept or not.
    pub rollback: Option<JobMessage>,
}

/// The upgrades resource. `detail` is the document as `serde_json::Value` holds it (unknown
/// fields and their order included), but for `status.messages`, cut down to the last
/// [`MAX_MESSAGES`], and `status.messages_dropped`, added when any went; `job` is `None` when
/// `status` is no object.
pub struct Upgrades {
    pub detail: Value,
    pub job: Option<Job>,
}

impl<'de> Deserialize<'de> for Upgrades {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (detail, job) = Reader(DocumentLevel).deserialize(deserializer)?;
        Ok(Self { detail, job })
    }
}

impl Upgrades {
    /// The job and the document, or an error quoting a document without a status object.
    pub fn into_job(self, url: &str) -> Result<(Job, Value), Error> {
        match self.job {
            Some(job) => Ok((job, self.detail)),
            None => Err(Error::unexpected(format!(
                "{url}/admin/system/upgrades answered without a status object: {}",
                excerpt(self.detail.to_string().as_bytes(), 200)
            ))),
        }
    }
}

/// A value as read, and what its level found in it.
type Read<F> = (Value, Option<F>);

/// One level of the document, read as `serde_json::Value` reads it but where the level says
/// otherwise; `Found` is what the level learns on the way.
trait Level<'de>: Copy {
    type Found;

    /// An object at this level.
    fn object<A: MapAccess<'de>>(self, map: A) -> Result<Read<Self::Found>, A::Error> {
        Ok((Value::deserialize(MapAccessDeserializer::new(map))?, None))
    }

    /// A list at this level.
    fn list<A: SeqAccess<'de>>(self, seq: A) -> Result<Read<Self::Found>, A::Error> {
        Ok((Value::deserialize(SeqAccessDeserializer::new(seq))?, None))
    }
}

/// Reads one value at a [`Level`]: a scalar as `Value` does, an object or a list as the level
/// says.
struct Reader<L>(L);

macro_rules! scalars {
    ($($visit:ident($type:ty)),*) => {$(
        fn $visit<E: de::Error>(self, value: $type) -> Result<Self::Value, E> {
            // As `Value` does: a number that is not finite becomes null.
            Ok((Value::from(value), None))
        }
    )*};
}

impl<'de, L: Level<'de>> Visitor<'de> for Reader<L> {
    type Value = Read<L::Found>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    scalars!(
        visit_bool(bool),
        visit_i64(i64),
        visit_u64(u64),
        visit_f64(f64),
        visit_str(&str),
        visit_string(String)
    );

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok((Value::Null, None))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.object(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.list(seq)
    }
}

impl<'de, L: Level<'de>> DeserializeSeed<'de> for Reader<L> {
    type Value = Read<L::Found>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// An object's members, and what a level found in one of them.
type Members<F> = (Map<String, Value>, Option<F>);

/// An object's members as `Value` holds them, member `name` read at `level`; what that level
/// found in the last such member (a repeated member replaces the earlier one, as in `Value`).
fn members<'de, A: MapAccess<'de>, L: Level<'de>>(
    mut map: A,
    name: &str,
    level: L,
) -> Result<Members<L::Found>, A::Error> {
    let mut members = Map::new();
    let mut found = None;
    while let Some(key) = map.next_key::<String>()? {
        let value = if key == name {
            let (value, this) = map.next_value_seed(Reader(level))?;
            found = this;
            value
        } else {
            map.next_value()?
        };
        members.insert(key, value);
    }
    Ok((members, found))
}

/// The whole document: its `status` is the job.
#[derive(Clone, Copy)]
struct DocumentLevel;

impl<'de> Level<'de> for DocumentLevel {
    type Found = Job;

    fn object<A: MapAccess<'de>>(self, map: A) -> Result<Read<Job>, A::Error> {
        let (members, job) = members(map, "status", StatusLevel)?;
        Ok((Value::Object(members), job))
    }
}

/// `status`, when it is an object.
#[derive(Clone, Copy)]
struct StatusLevel;

impl<'de> Level<'de> for StatusLevel {
    type Found = Job;

    fn object<A: MapAccess<'de>>(self, map: A) -> Result<Read<Job>, A::Error> {
        let (mut members, messages) = members(map, "messages", MessagesLevel)?;
        let messages = messages.unwrap_or_default();
        if messages.dropped > 0 {
            members.insert("messages_dropped".into(), messages.dropped.into());
        }
        let status = Value::Object(members);
        let fields: StatusFields = fields_of(&status);
        let job = Job {
            state: fields.state.as_str().unwrap_or("").to_string(),
            code: fields.code.integer(),
            messages: messages.kept,
            dropped: messages.dropped,
            newest: messages.newest,
            rollback: messages.rollback,
        };
        Ok((status, Some(job)))
    }
}

/// `status.messages`, when it is a list: every message is looked at, the last ones kept.
#[derive(Clone, Copy)]
struct MessagesLevel;

/// What the job's messages say: a missing list says nothing.
#[derive(Default)]
struct Messages {
    kept: Vec<JobMessage>,
    dropped: usize,
    newest: Option<i64>,
    rollback: Option<JobMessage>,
}

impl<'de> Level<'de> for MessagesLevel {
    type Found = Messages;

    fn list<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Read<Messages>, A::Error> {
        let mut found = Messages::default();
        let mut items = VecDeque::new();
        while let Some(item) = seq.next_element::<Value>()? {
            let fields: MessageFields = fields_of(&item);
            found.newest = found.newest.max(fields.when.epoch_ms());
            if fields.code.integer() == Some(ROLLBACK_STARTED) {
                found.rollback = Some(JobMessage::new(&item, &fields));
            }
            if items.len() == MAX_MESSAGES {
                items.pop_front();
                found.dropped += 1;
            }
            items.push_back(item);
        }
        found.kept = items.iter().map(JobMessage::read).collect();
        Ok((Value::Array(items.into()), Some(found)))
    }
}
