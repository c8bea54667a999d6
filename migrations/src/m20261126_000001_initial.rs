//! The first schema: events with their class history, places, airports, countries,
//! event-to-airport distances, flight offers, enrichment lookups, refresh runs,
//! provider usage and a small key/value table for store metadata.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Events::Table)
                .if_not_exists()
                .col(string(Events::Id).primary_key())
                .col(string(Events::Provider))
                .col(string(Events::Title))
                .col(text(Events::Description))
                .col(string(Events::Category))
                .col(text(Events::Labels))
                .col(integer(Events::Rank))
                .col(integer_null(Events::LocalRank))
                .col(big_integer_null(Events::Attendance))
                .col(big_integer_null(Events::SpendUsd))
                .col(date(Events::StartDate))
                .col(date(Events::EndDate))
                .col(string(Events::Timezone))
                .col(string(Events::VenueName))
                .col(string(Events::Address))
                .col(string(Events::City))
                .col(string(Events::Country))
                .col(double(Events::Lat))
                .col(double(Events::Lon))
                .col(string(Events::State))
                .col(string_null(Events::GoneReason))
                .col(string_null(Events::DuplicateOf))
                .col(string(Events::Fingerprint))
                .col(small_integer(Events::LastClass))
                .col(timestamp_with_time_zone_null(Events::ProviderUpdated))
                .col(timestamp_with_time_zone(Events::FirstSeenAt))
                .col(timestamp_with_time_zone(Events::LastChangedAt))
                .col(integer_null(Events::LastRunId))
                .col(boolean(Events::Demo))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("idx_events_state_rank", vec![Events::State, Events::Rank]),
            (
                "idx_events_state_start",
                vec![Events::State, Events::StartDate],
            ),
            ("idx_events_country", vec![Events::Country]),
            ("idx_events_category", vec![Events::Category]),
            ("idx_events_lat_lon", vec![Events::Lat, Events::Lon]),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Events::Table).if_not_exists();
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }

        m.create_table(
            Table::create()
                .table(EventHistory::Table)
                .if_not_exists()
                .col(pk_auto(EventHistory::Id))
                .col(string(EventHistory::EventId))
                .col(integer(EventHistory::RunId))
                .col(small_integer(EventHistory::Class))
                .col(text(EventHistory::Detail))
                .col(timestamp_with_time_zone(EventHistory::RecordedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_event_history_event")
                .table(EventHistory::Table)
                .col(EventHistory::EventId)
                .if_not_exists()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Places::Table)
                .if_not_exists()
                .col(pk_auto(Places::Id))
                .col(string(Places::Provider))
                .col(string(Places::ProviderId))
                .col(string(Places::Kind))
                .col(string(Places::Name))
                .col(double(Places::Lat))
                .col(double(Places::Lon))
                .col(double_null(Places::Rating))
                .col(integer_null(Places::RatingCount))
                .col(small_integer_null(Places::PriceLevel))
                .col(string(Places::Address))
                .col(string_null(Places::Url))
                .col(timestamp_with_time_zone(Places::FetchedAt))
                .col(boolean(Places::Demo))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_places_provider_id")
                .table(Places::Table)
                .col(Places::Provider)
                .col(Places::ProviderId)
                .unique()
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_places_lat_lon")
                .table(Places::Table)
                .col(Places::Lat)
                .col(Places::Lon)
                .if_not_exists()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PlaceLookups::Table)
                .if_not_exists()
                .col(string(PlaceLookups::Cell))
                .col(string(PlaceLookups::Kind))
                .col(string(PlaceLookups::Provider))
                .col(integer(PlaceLookups::ResultCount))
                .col(timestamp_with_time_zone(PlaceLookups::FetchedAt))
                .primary_key(
                    Index::create()
                        .col(PlaceLookups::Cell)
                        .col(PlaceLookups::Kind)
                        .col(PlaceLookups::Provider),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Airports::Table)
                .if_not_exists()
                .col(string(Airports::Iata).primary_key())
                .col(string_null(Airports::Icao))
                .col(string(Airports::Name))
                .col(string(Airports::City))
                .col(string_null(Airports::Subdivision))
                .col(string(Airports::Country))
                .col(double(Airports::Lat))
                .col(double(Airports::Lon))
                .col(string(Airports::Tz))
                .col(integer_null(Airports::ElevationFt))
                .col(boolean(Airports::Scheduled))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_airports_lat")
                .table(Airports::Table)
                .col(Airports::Lat)
                .if_not_exists()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Countries::Table)
                .if_not_exists()
                .col(string(Countries::Iso2).primary_key())
                .col(string(Countries::Iso3))
                .col(string(Countries::Numeric))
                .col(string(Countries::NameEn))
                .col(string(Countries::NameKo))
                .col(string(Countries::Currency))
                .col(double_null(Countries::Lat))
                .col(double_null(Countries::Lon))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(EventAirports::Table)
                .if_not_exists()
                .col(string(EventAirports::EventId))
                .col(string(EventAirports::Iata))
                .col(double(EventAirports::DistanceKm))
                .col(small_integer(EventAirports::Position))
                .primary_key(
                    Index::create()
                        .col(EventAirports::EventId)
                        .col(EventAirports::Iata),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(FlightOffers::Table)
                .if_not_exists()
                .col(pk_auto(FlightOffers::Id))
                .col(string(FlightOffers::Provider))
                .col(string(FlightOffers::Origin))
                .col(string(FlightOffers::Destination))
                .col(date(FlightOffers::DepartDate))
                .col(string(FlightOffers::CarrierCode))
                .col(string(FlightOffers::CarrierName))
                .col(string_null(FlightOffers::FlightNumber))
                .col(small_integer(FlightOffers::Stops))
                .col(string(FlightOffers::DepartsAt))
                .col(string(FlightOffers::ArrivesAt))
                .col(integer(FlightOffers::DurationMinutes))
                .col(big_integer(FlightOffers::PriceMinor))
                .col(string(FlightOffers::Currency))
                .col(string_null(FlightOffers::BookingUrl))
                .col(timestamp_with_time_zone(FlightOffers::FetchedAt))
                .col(timestamp_with_time_zone(FlightOffers::ExpiresAt))
                .col(boolean(FlightOffers::Demo))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_flight_offers_route_date")
                .table(FlightOffers::Table)
                .col(FlightOffers::Origin)
                .col(FlightOffers::Destination)
                .col(FlightOffers::DepartDate)
                .if_not_exists()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(FlightLookups::Table)
                .if_not_exists()
                .col(string(FlightLookups::Origin))
                .col(string(FlightLookups::Destination))
                .col(date(FlightLookups::DepartDate))
                .col(string(FlightLookups::Provider))
                .col(integer(FlightLookups::ResultCount))
                .col(timestamp_with_time_zone(FlightLookups::FetchedAt))
                .col(timestamp_with_time_zone(FlightLookups::ExpiresAt))
                .primary_key(
                    Index::create()
                        .col(FlightLookups::Origin)
                        .col(FlightLookups::Destination)
                        .col(FlightLookups::DepartDate)
                        .col(FlightLookups::Provider),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RefreshRuns::Table)
                .if_not_exists()
                .col(pk_auto(RefreshRuns::Id))
                .col(string(RefreshRuns::Mode))
                .col(string(RefreshRuns::Status))
                .col(string(RefreshRuns::Stage))
                .col(string(RefreshRuns::EventsProvider))
                .col(timestamp_with_time_zone(RefreshRuns::StartedAt))
                .col(timestamp_with_time_zone_null(RefreshRuns::FinishedAt))
                .col(integer(RefreshRuns::Unchanged))
                .col(integer(RefreshRuns::Changed))
                .col(integer(RefreshRuns::Moved))
                .col(integer(RefreshRuns::New))
                .col(integer(RefreshRuns::Gone))
                .col(integer(RefreshRuns::Archived))
                .col(integer(RefreshRuns::Invalid))
                .col(integer(RefreshRuns::CallsEvents))
                .col(integer(RefreshRuns::CallsPlaces))
                .col(integer(RefreshRuns::CallsFlights))
                .col(integer(RefreshRuns::CallsSaved))
                .col(integer(RefreshRuns::Deferred))
                .col(text(RefreshRuns::Errors))
                .col(integer_null(RefreshRuns::FeedGeneration))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(InvalidRecords::Table)
                .if_not_exists()
                .col(pk_auto(InvalidRecords::Id))
                .col(integer(InvalidRecords::RunId))
                .col(string(InvalidRecords::ProviderId))
                .col(text(InvalidRecords::Reason))
                .col(timestamp_with_time_zone(InvalidRecords::RecordedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ProviderUsage::Table)
                .if_not_exists()
                .col(string(ProviderUsage::Provider))
                .col(date(ProviderUsage::Day))
                .col(integer(ProviderUsage::Calls))
                .primary_key(
                    Index::create()
                        .col(ProviderUsage::Provider)
                        .col(ProviderUsage::Day),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Meta::Table)
                .if_not_exists()
                .col(string(Meta::Key).primary_key())
                .col(text(Meta::Value))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Meta::Table.into_iden(),
            ProviderUsage::Table.into_iden(),
            InvalidRecords::Table.into_iden(),
            RefreshRuns::Table.into_iden(),
            FlightLookups::Table.into_iden(),
            FlightOffers::Table.into_iden(),
            EventAirports::Table.into_iden(),
            Countries::Table.into_iden(),
            Airports::Table.into_iden(),
            PlaceLookups::Table.into_iden(),
            Places::Table.into_iden(),
            EventHistory::Table.into_iden(),
            Events::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    Provider,
    Title,
    Description,
    Category,
    Labels,
    Rank,
    LocalRank,
    Attendance,
    SpendUsd,
    StartDate,
    EndDate,
    Timezone,
    VenueName,
    Address,
    City,
    Country,
    Lat,
    Lon,
    State,
    GoneReason,
    DuplicateOf,
    Fingerprint,
    LastClass,
    ProviderUpdated,
    FirstSeenAt,
    LastChangedAt,
    LastRunId,
    Demo,
}

#[derive(DeriveIden)]
enum EventHistory {
    Table,
    Id,
    EventId,
    RunId,
    Class,
    Detail,
    RecordedAt,
}

#[derive(DeriveIden)]
enum Places {
    Table,
    Id,
    Provider,
    ProviderId,
    Kind,
    Name,
    Lat,
    Lon,
    Rating,
    RatingCount,
    PriceLevel,
    Address,
    Url,
    FetchedAt,
    Demo,
}

#[derive(DeriveIden)]
enum PlaceLookups {
    Table,
    Cell,
    Kind,
    Provider,
    ResultCount,
    FetchedAt,
}

#[derive(DeriveIden)]
enum Airports {
    Table,
    Iata,
    Icao,
    Name,
    City,
    Subdivision,
    Country,
    Lat,
    Lon,
    Tz,
    ElevationFt,
    Scheduled,
}

#[derive(DeriveIden)]
enum Countries {
    Table,
    Iso2,
    Iso3,
    Numeric,
    NameEn,
    NameKo,
    Currency,
    Lat,
    Lon,
}

#[derive(DeriveIden)]
enum EventAirports {
    Table,
    EventId,
    Iata,
    DistanceKm,
    Position,
}

#[derive(DeriveIden)]
enum FlightOffers {
    Table,
    Id,
    Provider,
    Origin,
    Destination,
    DepartDate,
    CarrierCode,
    CarrierName,
    FlightNumber,
    Stops,
    DepartsAt,
    ArrivesAt,
    DurationMinutes,
    PriceMinor,
    Currency,
    BookingUrl,
    FetchedAt,
    ExpiresAt,
    Demo,
}

#[derive(DeriveIden)]
enum FlightLookups {
    Table,
    Origin,
    Destination,
    DepartDate,
    Provider,
    ResultCount,
    FetchedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum RefreshRuns {
    Table,
    Id,
    Mode,
    Status,
    Stage,
    EventsProvider,
    StartedAt,
    FinishedAt,
    Unchanged,
    Changed,
    Moved,
    New,
    Gone,
    Archived,
    Invalid,
    CallsEvents,
    CallsPlaces,
    CallsFlights,
    CallsSaved,
    Deferred,
    Errors,
    FeedGeneration,
}

#[derive(DeriveIden)]
enum InvalidRecords {
    Table,
    Id,
    RunId,
    ProviderId,
    Reason,
    RecordedAt,
}

#[derive(DeriveIden)]
enum ProviderUsage {
    Table,
    Provider,
    Day,
    Calls,
}

#[derive(DeriveIden)]
enum Meta {
    Table,
    Key,
    Value,
}
