//! `time` types as CQL values (feature `time`): `Date` as `date`, `Time` as `time`,
//! `OffsetDateTime` as `timestamp` (sub-millisecond precision is truncated toward
//! negative infinity; read values are UTC).

use time::{Date, OffsetDateTime, Time};

use super::via;
use crate::{ColumnType, CqlDate, CqlTime, CqlTimestamp};

/// Julian day number of 1970-01-01.
const EPOCH_JULIAN_DAY: i32 = 2_440_588;

via!(Date, CqlDate, ColumnType::Date,
    to: |v| Some(CqlDate::from_days_since_epoch(v.to_julian_day() - EPOCH_JULIAN_DAY)),
    from: |s| s
        .days_since_epoch()
        .checked_add(EPOCH_JULIAN_DAY)
        .and_then(|d| Date::from_julian_day(d).ok()));

via!(Time, CqlTime, ColumnType::Time,
to: |v| {
    let (h, m, s, ns) = v.as_hms_nano();
    let secs = (i64::from(h) * 60 + i64::from(m)) * 60 + i64::from(s);
    Some(CqlTime(secs * 1_000_000_000 + i64::from(ns)))
},
from: |s| {
    let (secs, ns) = (s.0 / 1_000_000_000, (s.0 % 1_000_000_000) as u32);
    Time::from_hms_nano((secs / 3600) as u8, (secs / 60 % 60) as u8, (secs % 60) as u8, ns).ok()
});

via!(OffsetDateTime, CqlTimestamp, ColumnType::Timestamp,
    to: |v| i64::try_from(v.unix_timestamp_nanos().div_euclid(1_000_000)).ok().map(CqlTimestamp),
    from: |s| OffsetDateTime::from_unix_timestamp_nanos(i128::from(s.0) * 1_000_000).ok());

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::FrameSlice;
    use crate::{DeserializeValue, SerializeValue};

    fn rt<T: SerializeValue + for<'a> DeserializeValue<'a> + PartialEq + std::fmt::Debug>(
        v: T,
        t: ColumnType,
    ) -> Vec<u8> {
        let mut b = bytes::BytesMut::new();
        v.serialize(&t, &mut b).unwrap();
        assert_eq!(
            T::deserialize(&t, Some(FrameSlice::from_slice(&b))).unwrap(),
            v
        );
        b.to_vec()
    }

    #[test]
    fn dates_times_and_timestamps() {
        let epoch = Date::from_julian_day(EPOCH_JULIAN_DAY).unwrap();
        assert_eq!(rt(epoch, ColumnType::Date), [0x80, 0, 0, 0]);
        rt(Date::MIN, ColumnType::Date);
        rt(Date::MAX, ColumnType::Date);
        let e = Date::deserialize(
            &ColumnType::Date,
            Some(FrameSlice::from_slice(&[0, 0, 0, 0])),
        )
        .unwrap_err();
        assert_eq!(*e.kind(), crate::DeserializationErrorKind::OutOfRange);
        rt(Time::MIDNIGHT, ColumnType::Time);
        rt(
            Time::from_hms_nano(23, 59, 59, 999_999_999).unwrap(),
            ColumnType::Time,
        );
        rt(
            OffsetDateTime::from_unix_timestamp_nanos(-1_000_000).unwrap(),
            ColumnType::Timestamp,
        );
        // -0.5 ms floors to -1 ms
        let half = OffsetDateTime::from_unix_timestamp_nanos(-500_000).unwrap();
        let mut b = bytes::BytesMut::new();
        half.serialize(&ColumnType::Timestamp, &mut b).unwrap();
        assert_eq!(&b[..], (-1i64).to_be_bytes());
    }
}
