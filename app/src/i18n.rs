//! English and Korean. The English text is the key: a page asks `tr(lang, "…")` and gets
//! the Korean when the reader chose Korean. The language comes from the `ts_lang` cookie
//! (set by `/lang/{code}`), else the browser's Accept-Language; the server writes it into
//! `<html lang>`, and the browser reads it back from there, so both render the same text.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    En,
    Ko,
}

/// The cookie that keeps the reader's language.
pub const LANG_COOKIE: &str = "ts_lang";

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ko => "ko",
        }
    }

    pub fn from_code(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "ko" => Some(Lang::Ko),
            _ => None,
        }
    }

    /// From a Cookie header value and an Accept-Language header value.
    pub fn from_headers(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        let chosen = cookie.and_then(|c| {
            c.split(';')
                .filter_map(|p| p.trim().split_once('='))
                .find(|(k, _)| *k == LANG_COOKIE)
                .and_then(|(_, v)| Lang::from_code(v))
        });
        chosen.unwrap_or_else(|| {
            let first = accept_language
                .and_then(|a| a.split(',').next())
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if first.starts_with("ko") {
                Lang::Ko
            } else {
                Lang::En
            }
        })
    }
}

/// The language of the page being rendered.
pub fn detect() -> Lang {
    #[cfg(feature = "ssr")]
    {
        let parts = use_context::<http::request::Parts>();
        let header = |name: http::header::HeaderName| {
            parts
                .as_ref()
                .and_then(|p| p.headers.get(name))
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Lang::from_headers(
            header(http::header::COOKIE).as_deref(),
            header(http::header::ACCEPT_LANGUAGE).as_deref(),
        )
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .and_then(|e| e.get_attribute("lang"))
            .and_then(|l| Lang::from_code(&l))
            .unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    Lang::En
}

/// The language in context (provided by the app root).
pub fn use_lang() -> Lang {
    use_context::<Lang>().unwrap_or_default()
}

/// The text in the reader's language (English when no translation exists).
pub fn tr(lang: Lang, en: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Ko => KO.iter().find(|(e, _)| *e == en).map_or(en, |(_, k)| *k),
    }
}

/// `tr` with `{}` placeholders filled in order.
pub fn trf(lang: Lang, en: &'static str, args: &[&str]) -> String {
    let mut out = String::new();
    let mut rest = tr(lang, en);
    for a in args {
        match rest.split_once("{}") {
            Some((head, tail)) => {
                out.push_str(head);
                out.push_str(a);
                rest = tail;
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

/// A whole number with thousands separators (the same in both languages).
pub fn fmt_int(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A date written YYYY-MM-DD (optionally followed by a time) for the reader: `27 May 2027`
/// or `2027년 5월 27일`; anything else is shown as it is.
pub fn fmt_date(lang: Lang, iso: &str) -> String {
    let (date, time) = match iso.get(..10) {
        Some(d) => (
            d,
            iso.get(10..).unwrap_or("").trim_start_matches(['T', ' ']),
        ),
        None => return iso.to_string(),
    };
    let mut it = date.split('-').map(|p| p.parse::<u32>().ok());
    let (Some(Some(y)), Some(Some(m)), Some(Some(d))) = (it.next(), it.next(), it.next()) else {
        return iso.to_string();
    };
    if !(1..=12).contains(&m) {
        return iso.to_string();
    }
    let time = time
        .get(..5)
        .filter(|t| t.len() == 5)
        .map(|t| format!(" {t}"))
        .unwrap_or_default();
    match lang {
        Lang::En => format!("{d} {} {y}{time}", MONTHS_EN[(m - 1) as usize]),
        Lang::Ko => format!("{y}년 {m}월 {d}일{time}"),
    }
}

/// An amount of money with its ISO currency code: `USD 1,234` / `1,234 USD`.
pub fn fmt_money(lang: Lang, currency: &str, amount: f64) -> String {
    let whole = fmt_int(amount.round() as i64);
    match lang {
        Lang::En => format!("{currency} {whole}"),
        Lang::Ko => format!("{whole} {currency}"),
    }
}

/// A category in words.
pub fn category_label(lang: Lang, category: &str) -> &'static str {
    let en = match category {
        "concerts" => "Concert",
        "festivals" => "Festival",
        "expos" => "Expo",
        "sports" => "Sports",
        "conferences" => "Conference",
        "performing-arts" => "Performing arts",
        _ => "Event",
    };
    tr(lang, en)
}

/// Korean for each English text the pages show.
const KO: &[(&str, &str)] = &[
    // Site
    ("Trips around the world's events", "세계 이벤트를 중심으로 떠나는 여행"),
    ("JSON API", "JSON API"),
    ("Language", "언어"),
    ("Demo data. ", "데모 데이터. "),
    ("Events come from TourSherpa's bundled demo feed of real, recurring events with illustrative dates; restaurants, cafés, places to stay and flight offers are generated and are not real places or prices.",
     "이벤트는 TourSherpa에 포함된 데모 피드(실제로 열리는 정기 이벤트, 날짜는 예시)에서 옵니다. 음식점, 카페, 숙소와 항공권 가격은 생성된 것으로 실제 장소나 가격이 아닙니다."),
    ("Map shapes: Natural Earth (public domain). Airports: airportsdata (MIT) and OurAirports (public domain). Country names: Unicode CLDR. Map library: Leaflet (BSD-2-Clause). ",
     "지도 경계: Natural Earth(퍼블릭 도메인). 공항: airportsdata(MIT), OurAirports(퍼블릭 도메인). 국가 이름: Unicode CLDR. 지도 라이브러리: Leaflet(BSD-2-Clause). "),
    ("Page not found", "페이지를 찾을 수 없습니다"),
    ("Back to the event map", "이벤트 지도로 돌아가기"),
    ("No page has this address. ", "이 주소의 페이지가 없습니다. "),
    // Categories
    ("Concert", "콘서트"),
    ("Festival", "축제"),
    ("Expo", "박람회"),
    ("Sports", "스포츠"),
    ("Conference", "콘퍼런스"),
    ("Performing arts", "공연 예술"),
    ("Event", "이벤트"),
    // Home
    ("TourSherpa · Find a trip around a world event", "TourSherpa · 세계 이벤트로 떠나는 여행 찾기"),
    ("Filter the events", "이벤트 거르기"),
    ("Search ", "검색 "),
    ("Title, venue or city", "제목, 장소 또는 도시"),
    ("Categories", "분류"),
    ("Countries ", "국가 "),
    ("From ", "시작 "),
    ("To ", "끝 "),
    ("Rank ", "순위 "),
    ("Local rank ", "지역 순위 "),
    ("Lowest rank", "최저 순위"),
    ("Highest rank", "최고 순위"),
    ("Lowest local rank", "최저 지역 순위"),
    ("Highest local rank", "최고 지역 순위"),
    ("Min. attendance ", "최소 참석자 "),
    ("Near ", "근처 "),
    ("Seoul, NRT or lat,lon", "서울, NRT 또는 위도,경도"),
    ("Within (km) ", "반경 (km) "),
    ("Use my location", "내 위치 사용"),
    ("Sort ", "정렬 "),
    ("Rank", "순위"),
    ("Start date", "시작일"),
    ("Attendance", "참석자"),
    ("Title", "제목"),
    ("Search", "검색"),
    ("Clear", "지우기"),
    ("List only the events in the map view", "지도에 보이는 이벤트만 목록에 표시"),
    ("Loading events…", "이벤트를 불러오는 중…"),
    ("The first refresh is running: events appear here in a moment.", "첫 갱신이 진행 중입니다. 잠시 후 이벤트가 나타납니다."),
    (" event", "개 이벤트"),
    (" events", "개 이벤트"),
    (", the top {} shown", ", 상위 {}개 표시"),
    ("Export this list: ", "이 목록 내보내기: "),
    ("calendar (.ics)", "캘린더 (.ics)"),
    ("spreadsheet (.csv)", "스프레드시트 (.csv)"),
    ("Events", "이벤트"),
    ("World map of the events: clusters show how many events each area holds; the list beside it has the same events",
     "이벤트 세계 지도: 묶음은 각 지역의 이벤트 수를 보여 주며, 옆 목록에 같은 이벤트가 있습니다"),
    ("Rank (0–100)", "순위 (0–100)"),
    // Event page
    ("Loading the event…", "이벤트를 불러오는 중…"),
    ("Event not found", "이벤트를 찾을 수 없습니다"),
    ("No event has this address. ", "이 주소의 이벤트가 없습니다. "),
    ("Show the event with the usual origin", "기본 출발지로 이벤트 보기"),
    ("This event is no longer listed: {}.", "더 이상 열리지 않는 이벤트입니다: {}."),
    ("Starts in your time: ", "내 시간대 시작 시각: "),
    ("Add to calendar (.ics)", "캘린더에 추가 (.ics)"),
    ("Local rank", "지역 순위"),
    ("Predicted attendance", "예상 참석자"),
    ("Predicted spend", "예상 지출"),
    ("Address", "주소"),
    ("Labels", "라벨"),
    ("not given", "정보 없음"),
    ("Updated {} UTC", "{} UTC 갱신"),
    ("Not fetched yet", "아직 가져오지 않음"),
    ("demo data", "데모 데이터"),
    ("When visitors come", "방문객이 몰리는 날"),
    ("Busiest on {}. Demand is at least half its peak from {} to {}: arrive before {} and leave after {} to miss the crowd, or stay inside it for the atmosphere.",
     "{}에 가장 붐빕니다. {}부터 {}까지는 최고치의 절반 이상이 찾습니다. 혼잡을 피하려면 {} 전에 도착해 {} 이후에 떠나고, 분위기를 즐기려면 이 기간에 머무르세요."),
    ("The provider gives no day-by-day demand for this event.", "제공자가 이 이벤트의 일별 수요를 주지 않았습니다."),
    ("Expected visitors per day (local dates)", "일별 예상 방문객 (현지 날짜)"),
    ("Day", "날짜"),
    ("Visitors", "방문객"),
    ("Share of peak", "최고치 대비"),
    ("before", "이전"),
    ("after", "이후"),
    ("event", "이벤트"),
    ("Restaurants nearby", "근처 음식점"),
    ("Cafés nearby", "근처 카페"),
    ("Places to stay", "숙소"),
    ("Nothing stored nearby yet.", "아직 근처에 저장된 곳이 없습니다."),
    ("map ↗", "지도 ↗"),
    (" reviews", "개 리뷰"),
    ("Nearest airports", "가까운 공항"),
    ("From TourSherpa's bundled airport list", "TourSherpa에 포함된 공항 목록 기준"),
    ("No airport with scheduled flights is stored nearby.", "근처에 정기편 공항이 없습니다."),
    ("Flights from", "출발 항공편"),
    ("Flying from (IATA code) ", "출발 공항 (IATA 코드) "),
    ("Travellers ", "여행자 수 "),
    ("Show flights", "항공편 보기"),
    ("Flights", "항공편"),
    ("From {}", "{} 출발"),
    ("Back to {}", "{} 귀국"),
    ("No offers stored for these dates yet.", "이 날짜에 저장된 항공권이 아직 없습니다."),
    ("Route", "노선"),
    ("Departs", "출발"),
    ("Arrives", "도착"),
    ("Carrier", "항공사"),
    ("Stops", "경유"),
    ("Price", "가격"),
    ("Book", "예약"),
    ("direct", "직항"),
    ("Estimated trip cost ", "예상 여행 비용 "),
    ("estimate", "추정치"),
    ("About ", "약 "),
    (" in all", " (전체)"),
    ("No total yet: ", "아직 합계 없음: "),
    ("venue ", "행사장 "),
    ("restaurant ", "음식점 "),
    ("café ", "카페 "),
    ("place to stay", "숙소"),
    // Dashboard
    ("Pages", "페이지"),
    ("Map", "지도"),
    ("Dashboard", "대시보드"),
    ("Timeline by ", "기간 단위 "),
    ("month", "월"),
    ("week", "주"),
    ("Loading the charts…", "차트를 불러오는 중…"),
    ("The numbers", "수치 보기"),
    ("events", "이벤트 수"),
    ("Top countries by number of events", "이벤트가 많은 국가"),
    ("Events per week, by category", "주별 이벤트 (분류별)"),
    ("Events per month, by category", "월별 이벤트 (분류별)"),
    ("events starting", "시작하는 이벤트 수"),
    ("Rank against predicted attendance", "순위와 예상 참석자"),
    ("rank (0–100)", "순위 (0–100)"),
    ("predicted attendance (log scale)", "예상 참석자 (로그 척도)"),
    ("Country", "국가"),
    ("accommodation", "숙박"),
    ("hospitality", "요식·접객"),
    ("transportation", "교통"),
    ("not split", "미분류"),
    ("total", "합계"),
    ("US dollars", "미국 달러"),
    ("Predicted event spend by country (US$)", "국가별 예상 이벤트 지출 (US$)"),
    ("Period", "기간"),
    ("Top by rank", "순위 상위"),
    ("Top by predicted attendance", "예상 참석자 상위"),
    ("Starting soonest", "곧 시작"),
    ("Ending soonest", "곧 종료"),
    ("No event matches.", "해당하는 이벤트가 없습니다."),
    ("From airport ", "출발 공항 "),
    ("Average fare from {} by destination country ({})", "{} 출발 목적지 국가별 평균 운임 ({})"),
    ("outbound", "가는 편"),
    ("return", "오는 편"),
    ("Offers out", "가는 편 항공권 수"),
    ("Offers back", "오는 편 항공권 수"),
    ("Average out", "가는 편 평균"),
    ("Average back", "오는 편 평균"),
    ("Currency", "통화"),
    ("average fare per traveller", "1인당 평균 운임"),
    ("Demo fares: not real prices.", "데모 운임: 실제 가격이 아닙니다."),
    ("No stored offers from {} to the airports of these events.", "{}에서 이 이벤트들의 공항으로 가는 저장된 항공권이 없습니다."),
    ("Also in other currencies (in the table): {}", "다른 통화로도 있음 (표 참고): {}"),
    ("Expected visitors per day", "일별 예상 방문객"),
    ("visitors", "방문객"),
    ("Week of", "주 시작일"),
    ("Visitors (sum of the week's days)", "방문객 (주간 일별 합계)"),
    ("From the provider's day-by-day patterns; events without one are not counted.", "공급자의 일별 패턴 기준이며, 패턴이 없는 이벤트는 세지 않습니다."),
    ("No event here has a day-by-day pattern.", "일별 패턴이 있는 이벤트가 없습니다."),
    ("Charts count the {} events of the filter above.", "차트는 위 필터에 해당하는 이벤트 {}개를 셉니다."),
    // Country and place pages
    ("Loading the country…", "국가 정보를 불러오는 중…"),
    ("Country not found", "국가를 찾을 수 없습니다"),
    ("See them on the map", "지도에서 보기"),
    ("Events per city", "도시별 이벤트"),
    ("Events per region", "지역별 이벤트"),
    ("Region", "지역"),
    ("(region unknown)", "(지역 정보 없음)"),
    ("Events per category", "분류별 이벤트"),
    ("City", "도시"),
    ("Category", "분류"),
    ("(no city given)", "(도시 정보 없음)"),
    ("Search this country ", "이 나라에서 검색 "),
    ("Starts", "시작"),
    ("More events", "이벤트 더 보기"),
    ("Loading the place…", "장소 정보를 불러오는 중…"),
    ("Place not found", "장소를 찾을 수 없습니다"),
    ("Restaurant", "음식점"),
    ("Café", "카페"),
    ("Place to stay", "숙소"),
    ("Place", "장소"),
    ("Rating", "평점"),
    ("Price level", "가격대"),
    ("Source", "출처"),
    ("Open in the provider's map", "제공자 지도에서 열기"),
    ("Events within {} km", "{} km 이내 이벤트"),
    ("No upcoming event is stored near this place.", "이 장소 근처에 저장된 이벤트가 없습니다."),
    ("This place is generated for the demo and is not a real business.", "이 장소는 데모용으로 생성되었으며 실제 업체가 아닙니다."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_has_one_translation() {
        let mut seen = std::collections::HashSet::new();
        for (en, ko) in KO {
            assert!(seen.insert(*en), "`{en}` translated twice");
            assert_eq!(
                en.matches("{}").count(),
                ko.matches("{}").count(),
                "placeholders of `{en}`"
            );
        }
    }

    #[test]
    fn language_comes_from_the_cookie_then_the_browser() {
        assert_eq!(
            Lang::from_headers(Some("a=1; ts_lang=ko"), Some("en-GB")),
            Lang::Ko
        );
        assert_eq!(
            Lang::from_headers(Some("ts_lang=en"), Some("ko-KR,ko")),
            Lang::En
        );
        assert_eq!(Lang::from_headers(None, Some("ko-KR,ko;q=0.9")), Lang::Ko);
        assert_eq!(Lang::from_headers(Some("ts_lang=xx"), None), Lang::En);
    }

    #[test]
    fn dates_numbers_and_money_follow_the_language() {
        assert_eq!(fmt_date(Lang::En, "2027-05-27"), "27 May 2027");
        assert_eq!(fmt_date(Lang::Ko, "2027-05-27"), "2027년 5월 27일");
        assert_eq!(
            fmt_date(Lang::Ko, "2027-05-27 10:00"),
            "2027년 5월 27일 10:00"
        );
        assert_eq!(fmt_date(Lang::En, "soon"), "soon");
        assert_eq!(fmt_money(Lang::En, "USD", 1234.4), "USD 1,234");
        assert_eq!(fmt_money(Lang::Ko, "USD", 1234.6), "1,235 USD");
        assert_eq!(trf(Lang::Ko, "From {}", &["NRT"]), "NRT 출발");
        assert_eq!(trf(Lang::En, "From {}", &["NRT"]), "From NRT");
    }
}
