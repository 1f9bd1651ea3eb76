//! `uuid::Uuid` as CQL `uuid` or `timeuuid` (feature `uuid`).

use super::via;
use crate::{ColumnType, CqlTimeuuid, CqlUuid};

via!(uuid::Uuid, CqlUuid, ColumnType::Uuid,
    to: |v| Some(CqlUuid(*v.as_bytes())),
    from: |s| Some(uuid::Uuid::from_bytes(s.0)));

impl From<uuid::Uuid> for CqlUuid {
    fn from(u: uuid::Uuid) -> Self {
        CqlUuid(*u.as_bytes())
    }
}

impl From<CqlUuid> for uuid::Uuid {
    fn from(u: CqlUuid) -> Self {
        uuid::Uuid::from_bytes(u.0)
    }
}

impl From<CqlTimeuuid> for uuid::Uuid {
    fn from(u: CqlTimeuuid) -> Self {
        uuid::Uuid::from_bytes(u.0)
    }
}

#[cfg(test)]
mod tests {
    use crate::row::FrameSlice;
    use crate::{ColumnType, DeserializeValue, SerializeValue};

    #[test]
    fn uuid_round_trips_as_uuid_and_timeuuid() {
        let u = uuid::Uuid::from_bytes([0x5A; 16]);
        for t in [ColumnType::Uuid, ColumnType::Timeuuid] {
            let mut b = bytes::BytesMut::new();
            u.serialize(&t, &mut b).unwrap();
            assert_eq!(&b[..], &[0x5A; 16]);
            <uuid::Uuid as DeserializeValue>::type_check(&t).unwrap();
            assert_eq!(
                uuid::Uuid::deserialize(&t, Some(FrameSlice::from_slice(&b))).unwrap(),
                u
            );
        }
        let e = u
            .serialize(&ColumnType::Varchar, &mut bytes::BytesMut::new())
            .unwrap_err();
        assert!(e.rust_type().contains("Uuid"));
    }
}
