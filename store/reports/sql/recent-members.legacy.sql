-- Phase F report 2 (legacy): recent member data with the highest current legacy rating, every given member, most
-- recently active first.
--   $1 bigint[]  member ids
--   $2 text[]    the legacy develop sub-tracks that are one rating stream (DEVELOPMENT, CODE): their current rating is
--                the current item's, not the higher of the two (domain/mapping.ts, store/legacy-stats.ts)
WITH m AS (
  SELECT "userId", handle FROM members."member" WHERE "userId" = ANY($1::bigint[])
),
-- the stream's current item: the sub-track of the member's latest rated legacy history row on it
cur AS (
  SELECT DISTINCT ON (hs."userId") hs."userId", d."subTrack"
  FROM m
  JOIN members."memberHistoryStats" hs ON hs."userId" = m."userId"
  JOIN members."memberDevelopHistoryStats" d ON d."historyStatsId" = hs.id
  WHERE d."subTrack" = ANY($2::text[]) AND d."newRating" IS NOT NULL
  ORDER BY hs."userId", d."ratingDate" DESC, d."challengeId" DESC
),
-- every current legacy rating: one per stream item group, develop item, SRM and Marathon Match row
rated AS (
  (SELECT DISTINCT ON (m."userId") m."userId", 'DEVELOP' AS family, i.name AS "subTrack", i.rating, i."mostRecentEventDate"
   FROM m
   JOIN members."memberDevelopStats" p ON p."userId" = m."userId"
   JOIN members."memberDevelopStatsItem" i ON i."developStatsId" = p.id
   LEFT JOIN cur ON cur."userId" = m."userId"
   WHERE i.name = ANY($2::text[]) AND i.rating IS NOT NULL
   ORDER BY m."userId", i.name IS DISTINCT FROM cur."subTrack", i."mostRecentEventDate" DESC NULLS LAST, i.name)
  UNION ALL
  SELECT m."userId", 'DEVELOP', i.name, i.rating, i."mostRecentEventDate"
  FROM m
  JOIN members."memberDevelopStats" p ON p."userId" = m."userId"
  JOIN members."memberDevelopStatsItem" i ON i."developStatsId" = p.id
  WHERE NOT (i.name = ANY($2::text[])) AND i.rating IS NOT NULL
  UNION ALL
  SELECT m."userId", 'DATA_SCIENCE', 'SRM', s.rating, s."mostRecentEventDate"
  FROM m
  JOIN members."memberDataScienceStats" p ON p."userId" = m."userId"
  JOIN members."memberSrmStats" s ON s."dataScienceStatsId" = p.id
  WHERE s.rating IS NOT NULL
  UNION ALL
  SELECT m."userId", 'DATA_SCIENCE', 'MARATHON_MATCH', s.rating, s."mostRecentEventDate"
  FROM m
  JOIN members."memberDataScienceStats" p ON p."userId" = m."userId"
  JOIN members."memberMarathonStats" s ON s."dataScienceStatsId" = p.id
  WHERE s.rating IS NOT NULL
),
best AS (
  SELECT DISTINCT ON ("userId") "userId", family, "subTrack", rating,
         count(*) OVER (PARTITION BY "userId", rating) > 1 AS tied
  FROM rated
  ORDER BY "userId", rating DESC, "mostRecentEventDate" DESC NULLS LAST, family, "subTrack"
),
last AS (
  SELECT hs."userId", max(e.at) AS at
  FROM m
  JOIN members."memberHistoryStats" hs ON hs."userId" = m."userId"
  JOIN (SELECT "historyStatsId", "ratingDate" AS at FROM members."memberDevelopHistoryStats"
        UNION ALL
        SELECT "historyStatsId", date FROM members."memberDataScienceHistoryStats") e ON e."historyStatsId" = hs.id
  GROUP BY hs."userId"
)
SELECT m."userId", m.handle, b.rating AS "maxRating", b.family AS track, b."subTrack", NULL::text AS "ratingColor",
       l.at AS "lastEventDate", COALESCE(b.tied, false) AS tied
FROM m
LEFT JOIN best b ON b."userId" = m."userId"
LEFT JOIN last l ON l."userId" = m."userId"
ORDER BY l.at DESC NULLS LAST, m."userId"
