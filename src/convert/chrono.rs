//! `chrono` types as CQL values (feature `chrono`): `NaiveDate` as `date`, `NaiveTime`
//! as `time`, `DateTime<Utc>` as `timestamp` (sub-millisecond precision is truncated).

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Timelike, Utc};

use super::via;
use crate::{ColumnType, CqlDate, CqlTime, CqlTimestamp};

/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

via!(NaiveDate, CqlDate, ColumnType::Date,
    to: |v| Some(CqlDate::from_days_since_epoch(v.num_days_from_ce() - EPOCH_DAYS_FROM_CE)),
    from: |s| s
        .days_since_epoch()
        .checked_add(EPOCH_DAYS_FROM_CE)
        .and_then(NaiveDate::from_num_days_from_ce_opt));

via!(NaiveTime, CqlTime, ColumnType::Time,
to: |v| {
    // a leap second (nanosecond >= 10^9) has no CQL time
    let n = i64::from(v.num_seconds_from_midnight()) * 1_000_000_000 + i64::from(v.nanosecond());
    Some(CqlTime(n)).filter(|t| t.is_valid())
},
from: |s| NaiveTime::from_num_seconds_from_midnight_opt(
    (s.0 / 1_000_000_000) as u32,
    (s.0 % 1_000_000_000) as u32,
));

via!(DateTime<Utc>, CqlTimestamp, ColumnType::Timestamp,
    to: |v| Some(CqlTimestamp(v.timestamp_millis())),
    from: |s| DateTime::from_timestamp_millis(s.0));

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
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        assert_eq!(rt(epoch, ColumnType::Date), [0x80, 0, 0, 0]);
        rt(
            NaiveDate::from_ymd_opt(-4000, 2, 29).unwrap(),
            ColumnType::Date,
        );
        rt(NaiveDate::MAX, ColumnType::Date);
        rt(NaiveDate::MIN, ColumnType::Date);
        // CQL dates beyond chrono's range fail with a typed error
        let e = NaiveDate::deserialize(
            &ColumnType::Date,
            Some(FrameSlice::from_slice(&[0, 0, 0, 0])),
        )
        .unwrap_err();
        assert_eq!(*e.kind(), crate::DeserializationErrorKind::OutOfRange);
        rt(
            NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999).unwrap(),
            ColumnType::Time,
        );
        let leap = NaiveTime::from_hms_nano_opt(23, 59, 59, 1_500_000_000).unwrap();
        assert!(leap
            .serialize(&ColumnType::Time, &mut bytes::BytesMut::new())
            .is_err());
        let before = DateTime::from_timestamp_millis(-86_400_001).unwrap();
        rt(before, ColumnType::Timestamp);
        let e = DateTime::<Utc>::deserialize(
            &ColumnType::Timestamp,
            Some(FrameSlice::from_slice(&i64::MIN.to_be_bytes())),
        )
        .unwrap_err();
        assert_eq!(*e.kind(), crate::DeserializationErrorKind::OutOfRange);
    }
}
