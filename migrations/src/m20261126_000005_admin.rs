//! Administration: accounts (Argon2id password hashes), sessions (only a hash of each
//! token is stored, so a copy of the store signs no one in), sign-in throttling per account
//! and per address, the audit log, event moderation (the reason an admin hid an event, kept
//! apart from the provider's data so a refresh cannot undo it), each provider's last error
//! and success, and what a running refresh reports to whoever watches it (progress, and a
//! cancel request any process can set).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(AdminUsers::Table)
                .if_not_exists()
                .col(pk_auto(AdminUsers::Id))
                .col(string_uniq(AdminUsers::Username))
                .col(string(AdminUsers::PasswordHash))
                .col(string(AdminUsers::Role))
                .col(timestamp_with_time_zone(AdminUsers::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .if_not_exists()
                .col(string(Sessions::TokenHash).primary_key())
                .col(integer(Sessions::UserId))
                .col(timestamp_with_time_zone(Sessions::CreatedAt))
                .col(timestamp_with_time_zone(Sessions::LastSeenAt))
                .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                .col(string(Sessions::Address))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_sessions_user")
                .table(Sessions::Table)
                .col(Sessions::UserId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SignInThrottle::Table)
                .if_not_exists()
                .col(string(SignInThrottle::Key).primary_key())
                .col(integer(SignInThrottle::Failures))
                .col(timestamp_with_time_zone(SignInThrottle::WindowStart))
                .col(timestamp_with_time_zone_null(SignInThrottle::LockedUntil))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .if_not_exists()
                .col(pk_auto(AuditLog::Id))
                .col(timestamp_with_time_zone(AuditLog::At))
                .col(string(AuditLog::Actor))
                .col(string(AuditLog::Action))
                .col(string(AuditLog::Target))
                .col(text(AuditLog::Detail))
                .col(string(AuditLog::Address))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(EventModeration::Table)
                .if_not_exists()
                .col(string(EventModeration::EventId).primary_key())
                .col(text(EventModeration::Reason))
                .col(string(EventModeration::HiddenBy))
                .col(timestamp_with_time_zone(EventModeration::HiddenAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ProviderStatus::Table)
                .if_not_exists()
                .col(string(ProviderStatus::Provider).primary_key())
                .col(text_null(ProviderStatus::LastError))
                .col(timestamp_with_time_zone_null(ProviderStatus::LastErrorAt))
                .col(integer_null(ProviderStatus::LastSuccessRun))
                .col(timestamp_with_time_zone_null(ProviderStatus::LastSuccessAt))
                .to_owned(),
        )
        .await?;
        // One column per statement: SQLite's ALTER TABLE adds one column at a time.
        for col in [
            integer(RefreshRuns::ProgressDone).default(0).to_owned(),
            integer(RefreshRuns::ProgressTotal).default(0).to_owned(),
            boolean(RefreshRuns::CancelRequested)
                .default(false)
                .to_owned(),
            string_null(RefreshRuns::TriggeredBy),
        ] {
            let mut col = col;
            m.alter_table(
                Table::alter()
                    .table(RefreshRuns::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        // The drill-down from a run to the events of one class.
        m.create_index(
            Index::create()
                .name("idx_event_history_run_class")
                .table(EventHistory::Table)
                .col(EventHistory::RunId)
                .col(EventHistory::Class)
                .col(EventHistory::EventId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_event_history_run_class")
                .table(EventHistory::Table)
                .to_owned(),
        )
        .await?;
        for col in [
            RefreshRuns::ProgressDone,
            RefreshRuns::ProgressTotal,
            RefreshRuns::CancelRequested,
            RefreshRuns::TriggeredBy,
        ] {
            m.alter_table(
                Table::alter()
                    .table(RefreshRuns::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        for table in [
            ProviderStatus::Table.into_iden(),
            EventModeration::Table.into_iden(),
            AuditLog::Table.into_iden(),
            SignInThrottle::Table.into_iden(),
            Sessions::Table.into_iden(),
            AdminUsers::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum AdminUsers {
    Table,
    Id,
    Username,
    PasswordHash,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    TokenHash,
    UserId,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    Address,
}

#[derive(DeriveIden)]
enum SignInThrottle {
    Table,
    Key,
    Failures,
    WindowStart,
    LockedUntil,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    Actor,
    Action,
    Target,
    Detail,
    Address,
}

#[derive(DeriveIden)]
enum EventModeration {
    Table,
    EventId,
    Reason,
    HiddenBy,
    HiddenAt,
}

#[derive(DeriveIden)]
enum ProviderStatus {
    Table,
    Provider,
    LastError,
    LastErrorAt,
    LastSuccessRun,
    LastSuccessAt,
}

#[derive(DeriveIden)]
enum RefreshRuns {
    Table,
    ProgressDone,
    ProgressTotal,
    CancelRequested,
    TriggeredBy,
}

#[derive(DeriveIden)]
enum EventHistory {
    Table,
    RunId,
    Class,
    EventId,
}
