//! Dashboard speed. `stats_rollup` keeps the active events counted, and their predicted
//! spend summed, per category, country, month and week of their start, and
//! `visitor_rollup` the expected visitors per category, country and local day, so the
//! dashboard's unfiltered and category or country filtered charts do not read a million
//! rows per request. Indexes serve the "top by attendance" and "ending soonest" cards and
//! the fares chart's look-up from an airport to the events it serves. `event_facts` is a
//! narrow copy of the active events for the filters the rollups cannot answer.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(StatsRollup::Table)
                .if_not_exists()
                .col(string(StatsRollup::Category))
                .col(string(StatsRollup::Country))
                .col(string(StatsRollup::Month))
                .col(string(StatsRollup::Week))
                .col(big_integer(StatsRollup::Events))
                .col(big_integer(StatsRollup::SpendEvents))
                .col(big_integer(StatsRollup::SpendTotal))
                .col(big_integer(StatsRollup::SpendAccommodation))
                .col(big_integer(StatsRollup::SpendHospitality))
                .col(big_integer(StatsRollup::SpendTransportation))
                .primary_key(
                    Index::create()
                        .col(StatsRollup::Category)
                        .col(StatsRollup::Country)
                        .col(StatsRollup::Month)
                        .col(StatsRollup::Week),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(VisitorRollup::Table)
                .if_not_exists()
                .col(string(VisitorRollup::Category))
                .col(string(VisitorRollup::Country))
                .col(string(VisitorRollup::Day))
                .col(big_integer(VisitorRollup::Visitors))
                .primary_key(
                    Index::create()
                        .col(VisitorRollup::Category)
                        .col(VisitorRollup::Country)
                        .col(VisitorRollup::Day),
                )
                .to_owned(),
        )
        .await?;
        let mut facts = Table::create();
        facts
            .table(EventFacts::Table)
            .if_not_exists()
            .col(string(EventFacts::Id).primary_key())
            .col(string(EventFacts::State))
            .col(string(EventFacts::Category))
            .col(string(EventFacts::Country))
            .col(integer(EventFacts::Rank))
            .col(integer_null(EventFacts::LocalRank))
            .col(big_integer_null(EventFacts::Attendance))
            .col(date(EventFacts::StartDate))
            .col(date(EventFacts::EndDate))
            .col(double(EventFacts::Lat))
            .col(double(EventFacts::Lon))
            .col(big_integer_null(EventFacts::SpendUsd))
            .col(big_integer(EventFacts::SpendAccommodation))
            .col(big_integer(EventFacts::SpendHospitality))
            .col(big_integer(EventFacts::SpendTransportation))
            .col(string(EventFacts::StartMonth))
            .col(string(EventFacts::StartWeek))
            .col(date_null(EventFacts::ImpactFirst));
        for v in VISITOR_COLUMNS {
            facts.col(big_integer(v));
        }
        m.create_table(facts.to_owned()).await?;
        // Each chart groups by the first columns of one of these and finds every filter
        // column in it, so it reads the index in order and never the rows: at a million
        // events that is a third to a quarter of the time of scanning the table.
        for (name, lead, tail) in fact_indexes() {
            let mut idx = Index::create();
            idx.name(name).table(EventFacts::Table).if_not_exists();
            let filters = FACT_FILTER_COLUMNS.iter().filter(|c| !lead.contains(c));
            for c in lead.iter().chain(filters).chain(tail.iter()) {
                idx.col(*c);
            }
            m.create_index(idx.to_owned()).await?;
        }
        m.create_table(
            Table::create()
                .table(EventFactDays::Table)
                .if_not_exists()
                .col(string(EventFactDays::EventId))
                .col(date(EventFactDays::Day))
                .col(big_integer(EventFactDays::Visitors))
                .primary_key(
                    Index::create()
                        .col(EventFactDays::EventId)
                        .col(EventFactDays::Day),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in CARD_INDEXES {
            let mut idx = Index::create();
            idx.name(name).table(Events::Table).if_not_exists();
            for (c, order) in cols.iter() {
                idx.col((*c, order.clone()));
            }
            m.create_index(idx.to_owned()).await?;
        }
        m.create_index(
            Index::create()
                .name("idx_event_airports_iata")
                .table(EventAirports::Table)
                .if_not_exists()
                .col(EventAirports::Iata)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            StatsRollup::Table.into_iden(),
            VisitorRollup::Table.into_iden(),
            EventFacts::Table.into_iden(),
            EventFactDays::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        for (name, _) in CARD_INDEXES {
            m.drop_index(Index::drop().name(name).table(Events::Table).to_owned())
                .await?;
        }
        m.drop_index(
            Index::drop()
                .name("idx_event_airports_iata")
                .table(EventAirports::Table)
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}

/// The columns the event filter reads (besides free text, which the copies do not keep).
const FACT_FILTER_COLUMNS: [EventFacts; 10] = [
    EventFacts::State,
    EventFacts::Category,
    EventFacts::Country,
    EventFacts::Rank,
    EventFacts::LocalRank,
    EventFacts::Attendance,
    EventFacts::StartDate,
    EventFacts::EndDate,
    EventFacts::Lat,
    EventFacts::Lon,
];

/// Covering indexes of `event_facts`: name, the columns the chart groups by, and the
/// columns it sums (after the filter columns).
fn fact_indexes() -> [(&'static str, Vec<EventFacts>, Vec<EventFacts>); 4] {
    [
        (
            "idx_event_facts_month",
            vec![EventFacts::StartMonth, EventFacts::Category],
            vec![],
        ),
        (
            "idx_event_facts_week",
            vec![EventFacts::StartWeek, EventFacts::Category],
            vec![],
        ),
        (
            "idx_event_facts_spend",
            vec![EventFacts::Country],
            vec![
                EventFacts::SpendUsd,
                EventFacts::SpendAccommodation,
                EventFacts::SpendHospitality,
                EventFacts::SpendTransportation,
            ],
        ),
        (
            "idx_event_facts_visitors",
            vec![EventFacts::ImpactFirst],
            VISITOR_COLUMNS.to_vec(),
        ),
    ]
}

/// Visitors on the first ten days of an event's impact pattern, one column each.
const VISITOR_COLUMNS: [EventFacts; 10] = [
    EventFacts::V0,
    EventFacts::V1,
    EventFacts::V2,
    EventFacts::V3,
    EventFacts::V4,
    EventFacts::V5,
    EventFacts::V6,
    EventFacts::V7,
    EventFacts::V8,
    EventFacts::V9,
];

/// The cards' orders, each ending with the id that breaks ties (so that a walk of the
/// index needs no sort), alone and within a category.
const CARD_INDEXES: [(&str, &[(Events, IndexOrder)]); 7] = [
    (
        "idx_events_card_rank",
        &[
            (Events::State, IndexOrder::Asc),
            (Events::Rank, IndexOrder::Desc),
            (Events::Id, IndexOrder::Asc),
        ],
    ),
    (
        "idx_events_card_attendance",
        &[
            (Events::State, IndexOrder::Asc),
            (Events::Attendance, IndexOrder::Desc),
            (Events::Id, IndexOrder::Asc),
        ],
    ),
    (
        "idx_events_card_start",
        &[
            (Events::State, IndexOrder::Asc),
            (Events::StartDate, IndexOrder::Asc),
            (Events::Id, IndexOrder::Asc),
        ],
    ),
    (
        "idx_events_card_end",
        &[
            (Events::State, IndexOrder::Asc),
            (Events::EndDate, IndexOrder::Asc),
            (Events::Id, IndexOrder::Asc),
        ],
    ),
    (
        "idx_events_state_category_attendance",
        &[
            (Events::State, IndexOrder::Asc),
            (Events::Category, IndexOrder::Asc),
            (Events::Attendance, IndexOrder::Asc),
        ],
    ),
    (
        "idx_events_state_category_start",
        &[
            (Events::State, IndexOrder::Asc),
            (Events::Category, IndexOrder::Asc),
            (Events::StartDate, IndexOrder::Asc),
        ],
    ),
    (
        "idx_events_state_category_end",
        &[
            (Events::State, IndexOrder::Asc),
            (Events::Category, IndexOrder::Asc),
            (Events::EndDate, IndexOrder::Asc),
        ],
    ),
];

#[derive(DeriveIden, Clone, Copy)]
enum Events {
    Table,
    Id,
    State,
    Rank,
    Category,
    Attendance,
    StartDate,
    EndDate,
}

#[derive(DeriveIden)]
enum EventAirports {
    Table,
    Iata,
}

#[derive(DeriveIden)]
enum StatsRollup {
    Table,
    Category,
    Country,
    Month,
    Week,
    Events,
    SpendEvents,
    SpendTotal,
    SpendAccommodation,
    SpendHospitality,
    SpendTransportation,
}

#[derive(DeriveIden)]
enum VisitorRollup {
    Table,
    Category,
    Country,
    Day,
    Visitors,
}

/// One narrow row per active event with only what the dashboard filters and sums: a
/// filter the rollups cannot answer scans this instead of the wide `events` rows.
#[derive(DeriveIden, Clone, Copy, PartialEq)]
enum EventFacts {
    Table,
    Id,
    State,
    Category,
    Country,
    Rank,
    LocalRank,
    Attendance,
    StartDate,
    EndDate,
    Lat,
    Lon,
    SpendUsd,
    SpendAccommodation,
    SpendHospitality,
    SpendTransportation,
    StartMonth,
    StartWeek,
    ImpactFirst,
    V0,
    V1,
    V2,
    V3,
    V4,
    V5,
    V6,
    V7,
    V8,
    V9,
}

/// The days of an impact pattern after its tenth.
#[derive(DeriveIden)]
enum EventFactDays {
    Table,
    EventId,
    Day,
    Visitors,
}
