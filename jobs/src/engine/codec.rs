//! How our own plan pieces travel between processes.
//!
//! Ballista sends the client's logical plan to the scheduler and each stage's
//! physical plan to executors, encoded by extension codecs for anything
//! DataFusion does not know. Ours knows the ratings reader
//! ([`RatingsTable`], and the file scan over [`RatingsCsvSource`]) and hands everything else to
//! Ballista's codecs. All three processes must use them (see
//! [`super::session_config`], the scheduler and executor configs).
//!
//! Encoding: a tag that Ballista's protobuf never starts with, then JSON.

use std::sync::Arc;

use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::{Extension, LogicalPlan};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use serde::{Deserialize, Serialize};

use crate::ratings_csv::scan::{Keep, ratings_scan};
use crate::ratings_csv::{PerIdSums, RatingsCsvSource, RatingsFile, RatingsTable};

const RATINGS_TABLE_TAG: &[u8] = b"\0movielens.ratings_table\0";
const RATINGS_SCAN_TAG: &[u8] = b"\0movielens.ratings_scan\0";

#[derive(Serialize, Deserialize)]
struct RatingsTableWire {
    files: Vec<RatingsFile>,
    per_id: Option<PerIdSums>,
}

/// A file scan over [`RatingsCsvSource`]: the store, and per partition its
/// files' (path in the store, size), and the source's options: whether and
/// where it writes per-id sums, and which rows it keeps.
#[derive(Serialize, Deserialize)]
struct RatingsScanWire {
    store: String,
    partitions: Vec<Vec<(String, u64)>>,
    limit: Option<usize>,
    per_id: Option<PerIdSums>,
    keep: Keep,
}

impl RatingsScanWire {
    /// The wire form of `plan`, if it is a scan of ratings files.
    fn of(plan: &dyn ExecutionPlan) -> Option<Self> {
        let scan = plan.downcast_ref::<DataSourceExec>()?;
        let config = scan.data_source().downcast_ref::<FileScanConfig>()?;
        let source = config.file_source().downcast_ref::<RatingsCsvSource>()?;
        let partitions = config
            .file_groups
            .iter()
            .map(|group| {
                group
                    .iter()
                    .map(|f| (f.object_meta.location.to_string(), f.object_meta.size))
                    .collect()
            })
            .collect();
        Some(Self {
            store: config.object_store_url.as_str().to_string(),
            partitions,
            limit: config.limit,
            per_id: source.per_id().cloned(),
            keep: source.keep(),
        })
    }

    fn plan(self) -> Result<Arc<dyn ExecutionPlan>> {
        let groups = self
            .partitions
            .into_iter()
            .map(|files| {
                Ok(FileGroup::new(
                    files
                        .into_iter()
                        .map(|(path, size)| {
                            let location = object_store::path::Path::parse(&path)
                                .map_err(|e| DataFusionError::External(Box::new(e)))?;
                            Ok(crate::ratings_csv::table::scan_file(location, size))
                        })
                        .collect::<Result<Vec<_>>>()?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ratings_scan(
            ObjectStoreUrl::parse(&self.store)?,
            groups,
            self.limit,
            self.per_id,
            self.keep,
        ))
    }
}

fn encode<T: Serialize>(tag: &[u8], value: &T, buf: &mut Vec<u8>) -> Result<()> {
    buf.extend_from_slice(tag);
    serde_json::to_writer(buf, value).map_err(|e| DataFusionError::External(Box::new(e)))
}

/// What the version-skew error tells a person to do; `transform::retry` reads
/// it too, to fail such a step at once instead of retrying it.
pub const SAME_VERSION_EVERYWHERE: &str =
    "run the same version on the client, the scheduler and every executor";

/// `None` when `buf` is not a node of this kind. A node of this kind that does
/// not parse was almost always written by another build of movielens (a
/// client, scheduler or executor left on an older version), so the error says
/// so: redeploying one build everywhere is the fix, a retry fails the same way.
fn decode<T: for<'de> Deserialize<'de>>(tag: &[u8], buf: &[u8]) -> Option<Result<T>> {
    let body = buf.strip_prefix(tag)?;
    Some(serde_json::from_slice(body).map_err(|e| {
        DataFusionError::Execution(format!(
            "cannot read the plan's {} node ({e}): most likely it was encoded by a different \
             movielens build; {SAME_VERSION_EVERYWHERE}",
            String::from_utf8_lossy(tag).trim_matches('\0')
        ))
    }))
}

/// Logical plans: the ratings table, then Ballista's own.
#[derive(Debug, Default)]
pub struct LogicalCodec {
    ballista: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for LogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.ballista.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match decode::<RatingsTableWire>(RATINGS_TABLE_TAG, buf) {
            Some(wire) => {
                let wire = wire?;
                Ok(Arc::new(
                    RatingsTable::new(wire.files).with_per_id_sums(wire.per_id),
                ))
            }
            None => self
                .ballista
                .try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        match node.downcast_ref::<RatingsTable>() {
            Some(table) => encode(
                RATINGS_TABLE_TAG,
                &RatingsTableWire {
                    files: table.files().to_vec(),
                    per_id: table.per_id().cloned(),
                },
                buf,
            ),
            None => self
                .ballista
                .try_encode_table_provider(table_ref, node, buf),
        }
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.ballista.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.ballista.try_encode_file_format(buf, node)
    }
}

/// Physical plans: the ratings scan, then Ballista's own (shuffles and such).
#[derive(Debug, Default)]
pub struct PhysicalCodec {
    ballista: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for PhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match decode::<RatingsScanWire>(RATINGS_SCAN_TAG, buf) {
            Some(wire) => wire?.plan(),
            None => self.ballista.try_decode(buf, inputs, ctx, proto_converter),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        match RatingsScanWire::of(node.as_ref()) {
            Some(wire) => encode(RATINGS_SCAN_TAG, &wire, buf),
            None => self.ballista.try_encode(node, buf, proto_converter),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::valid_rating::TEST_RULE;
    use datafusion_proto::physical_plan::DefaultPhysicalProtoConverter;

    #[test]
    fn a_node_from_another_build_is_an_error_that_says_so() {
        // What a build before change 11 sent: the rule as SQL text, no `rule`.
        let buf = [
            RATINGS_TABLE_TAG,
            br#"{"files":[],"per_id":{"out":"x.parquet","valid_rating":"rating > 0","user_masks":null}}"#,
        ]
        .concat();
        let err = match decode::<RatingsTableWire>(RATINGS_TABLE_TAG, &buf) {
            Some(Err(e)) => e.to_string(),
            Some(Ok(_)) => panic!("a plan without the rule must not decode"),
            None => panic!("the buffer starts with the tag"),
        };
        assert!(err.contains("movielens.ratings_table"), "{err}");
        assert!(err.contains("missing field `rule`"), "{err}");
        assert!(err.contains(SAME_VERSION_EVERYWHERE), "{err}");
        assert!(decode::<RatingsTableWire>(RATINGS_SCAN_TAG, &buf).is_none());
    }

    fn ratings_table(n: u64) -> Arc<RatingsTable> {
        Arc::new(
            RatingsTable::new(
                (0..n)
                    .map(|i| RatingsFile {
                        url: format!("file:///lake/raw/part-{i}.csv"),
                        bytes: 100 + i,
                    })
                    .collect(),
            )
            .with_per_id_sums(Some(per_id())),
        )
    }

    fn per_id() -> PerIdSums {
        PerIdSums {
            out: "lake/curated/runs/r1/_ratings_per_file/shard-000.parquet".into(),
            user_masks: Some(crate::ratings_csv::UserMaskFiles {
                genre_masks: "lake/curated/runs/r1/_genre_mask_by_movielens_id/part-000.parquet"
                    .into(),
                out: "lake/curated/runs/r1/_user_genre_masks/shard-000.parquet".into(),
            }),
            rule: TEST_RULE,
        }
    }

    #[tokio::test]
    async fn the_ratings_scan_survives_the_trip_with_its_file_groups() {
        let ctx = datafusion::prelude::SessionContext::new_with_config(
            datafusion::prelude::SessionConfig::new().with_target_partitions(2),
        );
        let state = ctx.state();
        // The per-id rule as the WHERE: the scan keeps only the rows it passes.
        let schema =
            datafusion::common::DFSchema::try_from(crate::ratings_csv::ratings_schema()).unwrap();
        let rule = ctx.parse_sql_expr(&TEST_RULE.sql(), &schema).unwrap();
        let plan = ratings_table(3)
            .scan(&state, None, &[rule], None)
            .await
            .unwrap();
        let codec = PhysicalCodec::default();
        let mut buf = Vec::new();
        codec
            .try_encode(plan.clone(), &mut buf, &DefaultPhysicalProtoConverter {})
            .unwrap();
        let back = codec
            .try_decode(
                &buf,
                &[],
                &TaskContext::default(),
                &DefaultPhysicalProtoConverter {},
            )
            .unwrap();
        let wire = RatingsScanWire::of(back.as_ref()).expect("a ratings scan again");
        assert_eq!(wire.store, "file:///");
        // A table that sums per id scans all its files in one partition.
        assert_eq!(
            wire.partitions,
            [vec![
                ("lake/raw/part-0.csv".to_string(), 100),
                ("lake/raw/part-1.csv".to_string(), 101),
                ("lake/raw/part-2.csv".to_string(), 102)
            ]]
        );
        assert_eq!(wire.per_id, Some(per_id()));
        assert_eq!(wire.keep, Keep::Valid);
        assert_eq!(back.schema(), plan.schema());
    }

    #[test]
    fn the_ratings_table_survives_the_trip() {
        let codec = LogicalCodec::default();
        let table = ratings_table(2);
        let mut buf = Vec::new();
        let name = TableReference::bare("raw_ratings");
        codec
            .try_encode_table_provider(&name, table.clone(), &mut buf)
            .unwrap();
        let back = codec
            .try_decode_table_provider(&buf, &name, table.schema(), &TaskContext::default())
            .unwrap();
        let back = back.downcast_ref::<RatingsTable>().unwrap();
        assert_eq!(back.files(), table.files());
        assert_eq!(back.per_id(), Some(&per_id()));
    }
}
