//! Consistency levels (spec section 3, \[consistency\]): the wire enum, owned by the
//! protocol and re-exported at the crate root for users and every layer above.

use std::fmt;

/// How many replicas must answer a read or acknowledge a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Consistency {
    /// A write is stored on at least one node, hints included.
    Any = 0x0000,
    /// One replica.
    One = 0x0001,
    /// Two replicas.
    Two = 0x0002,
    /// Three replicas.
    Three = 0x0003,
    /// A majority of all replicas.
    Quorum = 0x0004,
    /// Every replica.
    All = 0x0005,
    /// A majority of the replicas in the coordinator's data center (the default).
    #[default]
    LocalQuorum = 0x0006,
    /// A majority of the replicas in every data center.
    EachQuorum = 0x0007,
    /// Paxos phase of a lightweight transaction across data centers.
    Serial = 0x0008,
    /// Paxos phase of a lightweight transaction in the local data center.
    LocalSerial = 0x0009,
    /// One replica in the local data center.
    LocalOne = 0x000A,
}

impl Consistency {
    /// Parses the wire value.
    pub fn from_u16(v: u16) -> Option<Self> {
        Some(match v {
            0x0000 => Self::Any,
            0x0001 => Self::One,
            0x0002 => Self::Two,
            0x0003 => Self::Three,
            0x0004 => Self::Quorum,
            0x0005 => Self::All,
            0x0006 => Self::LocalQuorum,
            0x0007 => Self::EachQuorum,
            0x0008 => Self::Serial,
            0x0009 => Self::LocalSerial,
            0x000A => Self::LocalOne,
            _ => return None,
        })
    }

    /// True for `Serial` and `LocalSerial`, the only levels valid as serial consistency.
    pub fn is_serial(self) -> bool {
        matches!(self, Self::Serial | Self::LocalSerial)
    }
}

impl fmt::Display for Consistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::Any => "ANY",
            Self::One => "ONE",
            Self::Two => "TWO",
            Self::Three => "THREE",
            Self::Quorum => "QUORUM",
            Self::All => "ALL",
            Self::LocalQuorum => "LOCAL_QUORUM",
            Self::EachQuorum => "EACH_QUORUM",
            Self::Serial => "SERIAL",
            Self::LocalSerial => "LOCAL_SERIAL",
            Self::LocalOne => "LOCAL_ONE",
        };
        f.write_str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_round_trip() {
        for v in 0..=0x0Au16 {
            let c = Consistency::from_u16(v).unwrap();
            assert_eq!(c as u16, v);
        }
        assert_eq!(Consistency::from_u16(0x0B), None);
        assert_eq!(Consistency::default().to_string(), "LOCAL_QUORUM");
    }
}
