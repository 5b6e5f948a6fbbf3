//! Counter-based random numbers: every draw is a pure function of (seed, variable stream,
//! path index, step), so a run gives bit-identical results on any number of threads, and two
//! scenarios that share a variable see the same draws on the same path (common random
//! numbers, which makes their comparison paired).
//!
//! There is no generator state to carry around. The engine derives a key once per
//! (seed, stream, path) with [`key`] (or [`stream_key`] then [`path_key`], to hoist the first
//! part out of the path loop) and asks [`bits`] for the 64 random bits of each step; [`uniform`]
//! and [`std_normal`] turn those bits into numbers.
//!
//! **Stability.** [`stream_id`], [`mix`], [`key`], [`bits`], [`uniform`] and [`std_normal`] are
//! part of the file format in all but name: a seed written in a scenario must give the same
//! numbers on every platform and in every release. They use only integer arithmetic,
//! IEEE-754 operations that are correctly rounded everywhere, constant tables written in this
//! file, and `exp`/`log` from the pure-Rust `libm` crate (the same code on every platform,
//! unlike the system's). Any change to them is a breaking change for saved seeds.
//!
//! **Speed.** [`std_normal`] is a 256-layer ziggurat (Marsaglia and Tsang, 2000): about 99% of
//! draws take one table lookup, one multiply and one compare; the rest (the wedges and the tail
//! beyond 3.654) re-mix the bits deterministically until they accept. Measured on the
//! development machine (release build, `timing_std_normal` below, AMD EPYC at 2.6 GHz):
//! about 2 ns of CPU per draw including [`bits`], some 27 instructions, half of them the
//! mixing. (A vectorised AVX-512 batch of the same draws was tried and was slower: the table
//! gathers cost more than they save.)

/// The 64-bit golden ratio, the SplitMix64 increment: odd, with well-spread bits.
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
/// A second odd constant, used to separate the path level from the step level.
const PATH_INCREMENT: u64 = 0xd1b5_4a32_d192_ed03;
/// Separates the seed from the stream when the stream key is derived.
const SEED_SALT: u64 = 0x2545_f491_4f6c_dd1d;

/// A stable 64-bit identifier for a variable, from its name (e.g. `"growth/cloud"`).
///
/// FNV-1a over the UTF-8 bytes of the name, followed by [`mix`] so that names differing in one
/// character give unrelated identifiers. Stable across platforms and releases: the identifier
/// of a name never changes, so saved seeds keep reproducing the same runs.
pub fn stream_id(name: &str) -> u64 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = FNV_OFFSET;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    mix(hash)
}

/// The SplitMix64 finaliser (Stafford's variant 13): a bijection on 64-bit words whose output
/// bits each depend on every input bit. Stable across platforms and releases.
#[inline(always)]
pub fn mix(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The key shared by all paths of one variable under one seed. [`path_key`] of it equals
/// [`key`]`(seed, stream, path)`; use the pair to compute this part once per variable.
#[inline]
pub fn stream_key(seed: u64, stream: u64) -> u64 {
    mix(mix(seed ^ SEED_SALT).wrapping_add(stream))
}

/// The key of one path of a variable, from its [`stream_key`].
#[inline]
pub fn path_key(stream_key: u64, path: u64) -> u64 {
    mix(stream_key.wrapping_add(path.wrapping_add(1).wrapping_mul(PATH_INCREMENT)))
}

/// The key of one (seed, variable stream, path): feed it to [`bits`] with the step number.
#[inline]
pub fn key(seed: u64, stream: u64, path: u64) -> u64 {
    path_key(stream_key(seed, stream), path)
}

/// 64 well-mixed random bits for step `step` of the path whose key is `key`.
///
/// This is the SplitMix64 generator seeded with the key and read at position `step`, so each
/// key gives a sequence with SplitMix64's statistical quality (it passes BigCrush); keys are
/// themselves mixed, so different paths and streams give unrelated sequences.
#[inline(always)]
pub fn bits(key: u64, step: u64) -> u64 {
    mix(key.wrapping_add(step.wrapping_mul(GOLDEN)))
}

/// A uniform number in the open interval (0, 1): the midpoint `(2k + 1) / 2^53` of one of
/// 2^52 equal cells, `k` being the top 52 bits. The smallest value is 2^-53 and the largest
/// 1 - 2^-53, never 0 or 1, so `ln(u)` and quantile functions stay finite.
#[inline(always)]
pub fn uniform(bits: u64) -> f64 {
    const SCALE: f64 = 1.0 / (1u64 << 52) as f64;
    // Through i64: the value fits in 52 bits, and a signed conversion is one instruction.
    ((bits >> 12) as i64 as f64 + 0.5) * SCALE
}

/// The right edge of the base layer of the 256-layer ziggurat (where the tail starts).
const ZIGGURAT_R: f64 = 3.654_152_885_361_009;
/// The area of each layer of the 256-layer ziggurat under `exp(-x^2/2)` (the tables below
/// were derived from it; the tests re-derive them).
#[cfg(test)]
const ZIGGURAT_V: f64 = 4.928_673_233_99e-3;

/// The unnormalised normal density, with libm's `exp` (the same code on every platform).
fn gauss(x: f64) -> f64 {
    libm::exp(-0.5 * x * x)
}

// The ziggurat's tables, written out so that the hot path reads constants (no lazy
// initialisation) and the draws never depend on the platform's `exp` and `ln`. They were
// generated from their definition, which `ziggurat_tables_match_their_definition` re-checks:
// edge[0] = V / f(R), edge[1] = R, edge[i+1] = sqrt(-2 ln(V / edge[i] + f(edge[i]))) so that
// every layer has area V, edge[256] = 0, with f(x) = exp(-x^2/2), and then
// ACCEPT[i] = floor(edge[i+1] / edge[i] * 2^53) (layer i accepts at once below it),
// SCALE[i] = edge[i] / 2^53 (from the 53-bit magnitude to x) and DENSITY[i] = f(edge[i]).
#[rustfmt::skip]
const ACCEPT: [u64; 256] = [
    8416190284920947, 8502199523357717, 8670250209926708, 8747665408408210, 8792993062619681, 8823034015404043,
    8844529650149292, 8860736633794510, 8873429784347971, 8883662533319100, 8892101391295202, 8899189566881475,
    8905233768484580, 8910453300649909, 8915009316506028, 8919023015271841, 8922587382248582, 8925775002338468,
    8928643402399174, 8931238791116700, 8933598732090616, 8935754090078970, 8937730471677702, 8939549307766225,
    8941228677835351, 8942783945492901, 8944228253917923, 8945572916116506, 8946827725236315, 8948001203479725,
    8949100803386929, 8950133071831210, 8951103784572767, 8952018057380786, 8952880438367481, 8953694985152301,
    8954465329697326, 8955194733060995, 8955886131859835, 8956542177872731, 8957165271944704, 8957757593128693,
    8958321123830820, 8958857671586717, 8959368887986041, 8959856285173244, 8960321250280539, 8960765058090368,
    8961188882176582, 8961593804734187, 8961980825274930, 8962350868339047, 8962704790351056, 8963043385728845,
    8963367392339478, 8963677496382064, 8963974336766888, 8964258509050525, 8964530568978732, 8964791035682066,
    8965040394563355, 8965279099911185, 8965507577269295, 8965726225588057, 8965935419181038, 8966135509506982,
    8966326826795004, 8966509681528852, 8966684365804223, 8966851154571576, 8967010306775436, 8967162066400074,
    8967306663430302, 8967444314735228, 8967575224881977, 8967699586885679, 8967817582901332, 8967929384862633,
    8968035155072334, 8968135046748221, 8968229204528443, 8968317764939529, 8968400856830126, 8968478601773210,
    8968551114439255, 8968618502942615, 8968680869163176, 8968738309045137, 8968790912874633, 8968838765537729,
    8968881946760199, 8968920531330395, 8968954589306352, 8968984186208218, 8969009383196996, 8969030237240468,
    8969046801267160, 8969059124309044, 8969067251633735, 8969071224866729, 8969071082104321, 8969066858017693,
    8969058583948665, 8969046287997544, 8969029995103451, 8969009727117535, 8968985502869352, 8968957338226741,
    8968925246149460, 8968889236736817, 8968849317269534, 8968805492246016, 8968757763413213, 8968706129792233,
    8968650587698807, 8968591130758760, 8968527749918547, 8968460433450955, 8968389166956015, 8968313933357176,
    8968234712892753, 8968151483102689, 8968064218810590, 8967972892101036, 8967877472292128, 8967777925903211,
    8967674216617701, 8967566305240961, 8967454149653080, 8967337704756475, 8967216922418166, 8967091751406580,
    8966962137322676, 8966828022525266, 8966689346050266, 8966546043523657, 8966398047067923, 8966245285201659,
    8966087682732057, 8965925160639953, 8965757635957052, 8965585021634947, 8965407226405534, 8965224154632340,
    8965035706152274, 8964841776107297, 8964642254765378, 8964437027330181, 8964225973738754, 8964008968446530,
    8963785880198839, 8963556571788085, 8963320899795673, 8963078714317695, 8962829858673310, 8962574169094642,
    8962311474396955, 8962041595627747, 8961764345693267, 8961479528960890, 8961186940835588, 8960886367308626,
    8960577584476434, 8960260358027436, 8959934442694393, 8959599581669657, 8959255505980417, 8958901933820840,
    8958538569837653, 8958165104365423, 8957781212607453, 8957386553757799, 8956980770059460, 8956563485793388,
    8956134306192369, 8955692816273206, 8955238579580123, 8954771136831346, 8954290004460246, 8953794673041287,
    8953284605590188, 8952759235726383, 8952217965684740, 8951660164161897, 8951085163981048, 8950492259557098,
    8949880704142075, 8949249706828287, 8948598429284023, 8947925982193667, 8947231421370463, 8946513743506430,
    8945771881519230, 8945004699450818, 8944210986866669, 8943389452697679, 8942538718458958, 8941657310770789,
    8940743653096490, 8939796056599925, 8938812710011249, 8937791668373126, 8936730840520449, 8935627975124155,
    8934480645103323, 8933286230178526, 8932041897302797, 8930744578662653, 8929390946889872, 8927977387062535,
    8926499964999537, 8924954391263249, 8923335980176997, 8921639603032984, 8919859634506764, 8917989891099221,
    8916023560187258, 8913953117968370, 8911770234216932, 8909465661311690, 8907029104419008, 8904449068990837,
    8901712680814989, 8898805472677841, 8895711130184076, 8892411187313549, 8888884659728806, 8885107600466199,
    8881052558151493, 8876687911856518, 8871977048552788, 8866877337946156, 8861338844005865, 8855302690813569,
    8848698969548668, 8841444029026801, 8833436927219712, 8824554724428979, 8814646152034174, 8803522963558493,
    8790947915088034, 8776617738072653, 8760138492417274, 8740989007458224, 8718465117470087, 8691591814763085,
    8658979550320583, 8618578446237483, 8567234683134558, 8499835136350465, 8407514496123960, 8273463477662850,
    8061537608569706, 7677520152659052, 6774628846754132, 0,
];
#[rustfmt::skip]
const SCALE: [f64; 256] = [
    4.3418135304141737e-16, 4.056924668828242e-16, 3.8294681854022677e-16, 3.686212150898667e-16, 3.579997467414474e-16, 3.4948591681928653e-16,
    3.4234017087811187e-16, 3.3615752312517293e-16, 3.306913942547723e-16, 3.257801658671349e-16, 3.213119829772846e-16, 3.17206120356254e-16,
    3.1340234816494007e-16, 3.098544947289545e-16, 3.0652636043613485e-16, 3.0338902046654093e-16, 3.0041898481346175e-16, 2.9759690748193647e-16,
    2.9490665882375727e-16, 2.923346446726343e-16, 2.898692972860882e-16, 2.8750068844585144e-16, 2.8522023106442435e-16, 2.8302044600397433e-16,
    2.808947776776224e-16, 2.7883744664617874e-16, 2.7684333062324214e-16, 2.749078675444875e-16, 2.730269759535843e-16, 2.7119698910992937e-16,
    2.6941460006654494e-16, 2.6767681559066564e-16, 2.659809172667594e-16, 2.643244284750852e-16, 2.627050862087164e-16, 2.611208168998469e-16,
    2.5956971558771873e-16, 2.5805002788699383e-16, 2.565601343151702e-16, 2.550985366169078e-16, 2.536638457865055e-16, 2.5225477154076347e-16,
    2.5087011303573023e-16, 2.4950875065441555e-16, 2.481696387200225e-16, 2.468517990118386e-16, 2.4555431497958406e-16, 2.442763265674994e-16,
    2.4301702557235857e-16, 2.41775651470393e-16, 2.4055148765718637e-16, 2.3934385805225037e-16, 2.3815212402646986e-16, 2.3697568161610507e-16,
    2.35813958991728e-16, 2.346664141544756e-16, 2.3353253283543944e-16, 2.32411826576967e-16, 2.313038309771977e-16, 2.3020810408136176e-16,
    2.2912422490528117e-16, 2.280517920781727e-16, 2.26990422593302e-16, 2.25939750656302e-16, 2.248994266220753e-16, 2.2386911601217327e-16,
    2.2284849860539744e-16, 2.2183726759512237e-16, 2.2083512880750293e-16, 2.1984179997531754e-16, 2.1885701006271959e-16, 2.1788049863663138e-16,
    2.169120152809272e-16, 2.1595131904991781e-16, 2.149981779579767e-16, 2.140523685024396e-16, 2.1311367521717238e-16, 2.1218189025443504e-16,
    2.1125681299288228e-16, 2.1033824966972926e-16, 2.0942601303528279e-16, 2.0851992202819163e-16, 2.0761980146990893e-16, 2.06725481776985e-16,
    2.0583679868992318e-16, 2.0495359301743389e-16, 2.0407571039501615e-16, 2.0320300105688037e-16, 2.02335319620304e-16, 2.0147252488158151e-16,
    2.0061447962279521e-16, 1.997610504286906e-16, 1.989121075129951e-16, 1.9806752455356634e-16, 1.9722717853580202e-16, 1.9639094960378384e-16,
    1.9555872091866558e-16, 1.9473037852385019e-16, 1.9390581121653176e-16, 1.930849104252084e-16, 1.9226757009279744e-16, 1.9145368656501017e-16,
    1.9064315848366542e-16, 1.8983588668464226e-16, 1.8903177410019157e-16, 1.8823072566534348e-16, 1.8743264822816495e-16, 1.8663745046363616e-16,
    1.8584504279092856e-16, 1.8505533729388077e-16, 1.8426824764447998e-16, 1.8348368902916774e-16, 1.827015780777996e-16, 1.8192183279509671e-16,
    1.8114437249443744e-16, 1.8036911773384378e-16, 1.7959599025402606e-16, 1.7882491291835541e-16, 1.7805580965464063e-16, 1.772886053985913e-16,
    1.765232260388548e-16, 1.7575959836351978e-16, 1.7499765000798338e-16, 1.7423730940408327e-16, 1.7347850573039999e-16, 1.7272116886363819e-16,
    1.7196522933099873e-16, 1.7121061826345622e-16, 1.7045726734985974e-16, 1.6970510879177605e-16, 1.6895407525899718e-16, 1.68204099845636e-16,
    1.6745511602673472e-16, 1.6670705761531245e-16, 1.6595985871977944e-16, 1.6521345370164627e-16, 1.6446777713345632e-16, 1.6372276375687112e-16,
    1.6297834844083766e-16, 1.6223446613976653e-16, 1.6149105185165028e-16, 1.607480405760497e-16, 1.6000536727187576e-16, 1.5926296681489332e-16,
    1.5852077395487222e-16, 1.5777872327230856e-16, 1.5703674913463855e-16, 1.5629478565186384e-16, 1.555527666315062e-16, 1.5481062553280531e-16,
    1.5406829542007163e-16, 1.5332570891510206e-16, 1.525827981485628e-16, 1.5183949471023944e-16, 1.510957295980499e-16, 1.5035143316571078e-16,
    1.4960653506894226e-16, 1.488609642100904e-16, 1.4811464868103956e-16, 1.4736751570428027e-16, 1.4661949157198985e-16, 1.458705015829752e-16,
    1.4512046997731719e-16, 1.4436931986854626e-16, 1.436169731731682e-16, 1.4286335053734627e-16, 1.4210837126053347e-16, 1.4135195321583402e-16,
    1.4059401276685794e-16, 1.398344646808152e-16, 1.3907322203757765e-16, 1.3831019613441663e-16, 1.3754529638610207e-16, 1.3677843022002424e-16,
    1.3600950296597336e-16, 1.3523841774018295e-16, 1.344650753232103e-16, 1.3368937403119398e-16, 1.3291120957998736e-16, 1.3213047494162762e-16,
    1.3134706019255046e-16, 1.3056085235291113e-16, 1.2977173521631455e-16, 1.289795891691952e-16, 1.2818429099901738e-16, 1.273857136903904e-16,
    1.2658372620810665e-16, 1.2577819326601705e-16, 1.2496897508055211e-16, 1.2415592710757905e-16, 1.2333889976115503e-16, 1.225177381125895e-16,
    1.2169228156806472e-16, 1.208623635228794e-16, 1.2002781099017417e-16, 1.1918844420176452e-16, 1.1834407617844563e-16, 1.1749451226683654e-16,
    1.1663954963949753e-16, 1.1577897675467358e-16, 1.1491257277158665e-16, 1.1404010691670755e-16, 1.1316133779587836e-16, 1.1227601264651482e-16,
    1.1138386652338363e-16, 1.1048462141060511e-16, 1.0957798525155728e-16, 1.0866365088723491e-16, 1.0774129489231226e-16, 1.0681057629664592e-16,
    1.0587113517818963e-16, 1.0492259111123069e-16, 1.039645414514397e-16, 1.029965594363785e-16, 1.02018192076751e-16, 1.0102895780969778e-16,
    1.0002834388069532e-16, 9.901580341495823e-17, 9.799075213244969e-17, 9.695256465241881e-17, 9.590057032347353e-17, 9.483404850314076e-17,
    9.375222319612227e-17, 9.265425694232818e-17, 9.15392438233563e-17, 9.040620142820195e-17, 8.925406158407258e-17, 8.808165961417568e-17,
    8.68877218284757e-17, 8.567085088192921e-17, 8.442950854249214e-17, 8.316199529119015e-17, 8.186642601891046e-17, 8.054070087540928e-17,
    7.918247004546049e-17, 7.77890908462791e-17, 7.635757501692294e-17, 7.488452334086087e-17, 7.336604371068822e-17, 7.179764725910741e-17,
    7.017411500498667e-17, 6.848932421157756e-17, 6.673601868278261e-17, 6.4905499429915e-17, 6.298719957170385e-17, 6.096808639200222e-17,
    5.883179728344236e-17, 5.65573509787513e-17, 5.4117151440297643e-17, 5.147375156908254e-17, 4.857430038048423e-17, 4.534030202263403e-17,
    4.1646834075866415e-17, 3.727435240246762e-17, 3.177176208205129e-17, 2.3896650870688797e-17,
];
#[rustfmt::skip]
const DENSITY: [f64; 257] = [
    4.774677645866553e-4, 1.260285930498598e-3, 2.609072746106363e-3, 4.0379725933718715e-3, 5.522403299264754e-3, 7.05087547139211e-3,
    8.616582769422919e-3, 1.02149714397311e-2, 1.1842757857943104e-2, 1.3497450601780807e-2, 1.5177088307982072e-2, 1.688008315259584e-2,
    1.860512127578335e-2, 2.0351096230109354e-2, 2.2117062707379922e-2, 2.3902203305873237e-2, 2.5705804008632656e-2, 2.752723566969332e-2,
    2.936593975823011e-2, 3.122141719202369e-2, 3.30932194586887e-2, 3.498094146183307e-2, 3.688421568869116e-2, 3.8802707404656925e-2,
    4.073611065607875e-2, 4.268414491661938e-2, 4.4646552251446536e-2, 4.6623094902089664e-2, 4.8613553216035145e-2, 5.061772386112179e-2,
    5.263541827697365e-2, 5.4666461325077916e-2, 5.671069010639947e-2, 5.8767952921137984e-2, 6.0838108349751806e-2, 6.292102443797785e-2,
    6.501657797147044e-2, 6.712465382802399e-2, 6.924514439725027e-2, 7.137794905914197e-2, 7.352297371424099e-2, 7.568013035919496e-2,
    7.784933670237221e-2, 8.003051581494751e-2, 8.222359581349568e-2, 8.442850957065465e-2, 8.664519445086778e-2, 8.887359206859423e-2,
    9.111364806670073e-2, 9.336531191302662e-2, 9.562853671335333e-2, 9.790327903921564e-2, 1.0018949876917202e-1, 1.0248715894230628e-1,
    1.0479622562286714e-1, 1.0711666777507302e-1, 1.0944845714721012e-1, 1.1179156816424568e-1, 1.1414597782825531e-1, 1.1651166562603717e-1,
    1.188886134433458e-1, 1.2127680548523544e-1, 1.236762282020514e-1, 1.2608687022065035e-1, 1.2850872228047364e-1, 1.3094177717412817e-1,
    1.3338602969216284e-1, 1.3584147657175735e-1, 1.3830811644906432e-1, 1.407859498149683e-1, 1.4327497897404712e-1, 1.4577520800653793e-1,
    1.482866427331287e-1, 1.5080929068241017e-1, 1.5334316106083767e-1, 1.5588826472506456e-1, 1.5844461415652022e-1, 1.6101222343811766e-1,
    1.6359110823298295e-1, 1.6618128576511007e-1, 1.6878277480185033e-1, 1.713955956381557e-1, 1.7401977008249953e-1, 1.7665532144440677e-1,
    1.7930227452353056e-1, 1.8196065560021674e-1, 1.8463049242750473e-1, 1.8731181422451715e-1, 1.900046516711933e-1, 1.92709036904329e-1,
    1.954250035148857e-1, 1.9815258654653828e-1, 2.008918224954315e-1, 2.0364274931112164e-1, 2.064054063986795e-1, 2.091798346219358e-1,
    2.1196607630785308e-1, 2.147641752520087e-1, 2.175741767251786e-1, 2.203961274810118e-1, 2.2323007576478984e-1, 2.2607607132326513e-1,
    2.2893416541557776e-1, 2.3180441082524889e-1, 2.34686861873253e-1, 2.3758157443217398e-1, 2.4048860594144947e-1, 2.4340801542371232e-1,
    2.463398635022391e-1, 2.492842124195171e-1, 2.5224112605694415e-1, 2.552106699556775e-1, 2.581929113386483e-1, 2.61187919133764e-1,
    2.641957639983178e-1, 2.67216518344632e-1, 2.7025025636696004e-1, 2.732970540696758e-1, 2.7635698929678126e-1, 2.794301417627653e-1,
    2.825165930848494e-1, 2.856164268166581e-1, 2.8872972848335393e-1, 2.91856585618281e-1, 2.9499708780116257e-1, 2.9815132669790134e-1,
    3.013193961020341e-1, 3.0450139197789644e-1, 3.0769741250555394e-1, 3.109075581275639e-1, 3.141319315976303e-1, 3.173706380312227e-1,
    3.206237849582305e-1, 3.2389148237773235e-1, 3.271738428149589e-1, 3.304709813805374e-1, 3.337830158321087e-1, 3.3711006663841303e-1,
    3.404522570459455e-1, 3.4380971314829134e-1, 3.471825639582515e-1, 3.505709414828812e-1, 3.5397498080156925e-1, 3.573948201472905e-1,
    3.6083060099117575e-1, 3.642824681305497e-1, 3.677505697805964e-1, 3.712350576698216e-1, 3.747360871394917e-1, 3.7825381724723833e-1,
    3.8178841087503157e-1, 3.8534003484173424e-1, 3.889088600204649e-1, 3.92495061461011e-1, 3.9609881851754736e-1, 3.997203149819319e-1,
    4.033597392228691e-1, 4.070172843312482e-1, 4.1069314827198333e-1, 4.143875340427068e-1, 4.181006498396846e-1, 4.218327092313533e-1,
    4.255839313399006e-1, 4.293545410313415e-1, 4.331447691145741e-1, 4.369548525499293e-1, 4.407850346677699e-1, 4.4463556539772775e-1,
    4.4850670150921407e-1, 4.523987068638825e-1, 4.5631185268077357e-1, 4.602464178149235e-1, 4.6420268905027884e-1, 4.6818096140782217e-1,
    4.7218153846988326e-1, 4.762047327216837e-1, 4.802508659112497e-1, 4.843202694289116e-1, 4.8841328470771206e-1, 4.9253026364614866e-1,
    4.966715690547963e-1, 5.008375751284821e-1, 5.050286679458288e-1, 5.092452459981361e-1, 5.13487720749743e-1, 5.177565172322006e-1,
    5.220520746747948e-1, 5.263748471741866e-1, 5.307253044061938e-1, 5.351039323830196e-1, 5.395112342595446e-1, 5.439477311926499e-1,
    5.484139632579211e-1, 5.529104904285199e-1, 5.574378936214863e-1, 5.619967758172779e-1, 5.665877632589518e-1, 5.71211506738075e-1,
    5.758686829752105e-1, 5.805599961036835e-1, 5.852861792663003e-1, 5.90047996335792e-1, 5.948462437709913e-1, 5.996817526221677e-1,
    6.045553907005496e-1, 6.094680649288955e-1, 6.144207238920769e-1, 6.194143606090393e-1, 6.244500155502744e-1, 6.295287799281284e-1,
    6.346517992909602e-1, 6.398202774564391e-1, 6.45035480824252e-1, 6.502987431142946e-1, 6.556114705832247e-1, 6.609751477802414e-1,
    6.663913439123806e-1, 6.718617199007664e-1, 6.773880362225131e-1, 6.829721616487914e-1, 6.886160830085271e-1, 6.943219161300326e-1,
    7.000919181404901e-1, 7.059285013367973e-1, 7.118342488823584e-1, 7.178119326349013e-1, 7.238645334728815e-1, 7.299952645658023e-1,
    7.362075981312666e-1, 7.425052963446361e-1, 7.488924472237266e-1, 7.553735065117544e-1, 7.619533468415464e-1, 7.686373158033348e-1,
    7.754313049861383e-1, 7.823418326598619e-1, 7.893761435711986e-1, 7.965423304282546e-1, 8.038494831763895e-1, 8.113078743182199e-1,
    8.189291916094148e-1, 8.267268339520942e-1, 8.347162929929304e-1, 8.429156531184411e-1, 8.513462584651237e-1, 8.600336212030086e-1,
    8.690086880437932e-1, 8.783096558161468e-1, 8.879846607633999e-1, 8.98095921906304e-1, 9.087264400605629e-1, 9.199915050483602e-1,
    9.320600759689902e-1, 9.45198953453078e-1, 9.598790918124159e-1, 9.771017012827313e-1, 1e0,
];

/// A standard normal draw as a pure function of 64 random bits (e.g. from [`bits`]).
///
/// A 256-layer ziggurat: the low 8 bits choose the layer, bit 8 the sign and the top 53 bits
/// the magnitude. About 99% of inputs are accepted at once; the others (wedges and the tail
/// beyond 3.654) re-mix the bits with [`mix`] until a candidate is accepted, so the result is
/// still determined by the input and is exactly normally distributed up to the 53-bit
/// resolution of the uniforms. Not monotone in the bits: use [`norm_quantile`] of
/// [`uniform`] where a monotone map is needed.
#[inline]
pub fn std_normal(bits: u64) -> f64 {
    let layer = (bits & 0xff) as usize;
    let magnitude = bits >> 11;
    if magnitude < ACCEPT[layer] {
        // Through i64: the magnitude fits in 53 bits, and a signed conversion is one instruction.
        let x = magnitude as i64 as f64 * SCALE[layer];
        // The sign bit goes straight into the IEEE sign: no branch.
        return f64::from_bits(x.to_bits() | ((bits & 0x100) << 55));
    }
    slow_normal(bits)
}

/// Standard normals for a batch of keys: `out[k * steps + t]` is the normal of step `t` of key
/// `keys[k]`, equal to `std_normal(bits(keys[k], t))` bit for bit (whatever the batch size or
/// the position of the key in it). Fills the first `keys.len() * steps` values of `out`, which
/// must hold at least that many; the rest is left alone.
pub fn fill_normals(keys: &[u64], steps: usize, out: &mut [f64]) {
    let n = keys.len() * steps;
    assert!(out.len() >= n, "fill_normals: out holds {} values, {} keys x {} steps need {}", out.len(), keys.len(), steps, n);
    if steps == 0 {
        return;
    }
    for (row, &key) in out[..n].chunks_exact_mut(steps).zip(keys) {
        for (t, z) in row.iter_mut().enumerate() {
            *z = std_normal(bits(key, t as u64));
        }
    }
}

/// The rare path of the ziggurat: the wedges, the tail, and retries with re-mixed bits.
#[cold]
#[inline(never)]
fn slow_normal(first: u64) -> f64 {
    let mut bits = first;
    loop {
        let layer = (bits & 0xff) as usize;
        let negative = bits & 0x100 != 0;
        let magnitude = bits >> 11;
        let x = magnitude as i64 as f64 * SCALE[layer];
        let signed = |v: f64| if negative { -v } else { v };
        if magnitude < ACCEPT[layer] {
            return signed(x);
        }
        if layer == 0 {
            // Marsaglia's tail method: exact for the normal beyond R.
            let mut tail = bits;
            loop {
                tail = mix(tail.wrapping_add(GOLDEN));
                let a = -libm::log(uniform(tail)) / ZIGGURAT_R;
                tail = mix(tail.wrapping_add(GOLDEN));
                let b = -libm::log(uniform(tail));
                if b + b >= a * a {
                    return signed(ZIGGURAT_R + a);
                }
            }
        }
        // The wedge between the layer's inner and outer rectangles.
        bits = mix(bits.wrapping_add(GOLDEN));
        let (outer, inner) = (DENSITY[layer], DENSITY[layer + 1]);
        if outer + uniform(bits) * (inner - outer) < gauss(x) {
            return signed(x);
        }
        bits = mix(bits.wrapping_add(GOLDEN));
    }
}

/// The standard normal cumulative distribution function, via `erfc` (accurate in both tails).
pub fn norm_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z * std::f64::consts::FRAC_1_SQRT_2)
}

/// The standard normal quantile (inverse CDF) for `p` in (0, 1), to about 1e-15 relative.
///
/// Acklam's rational approximation (relative error 1.2e-9) refined by one Halley step on
/// [`norm_cdf`]. Returns `-inf` for `p <= 0`, `+inf` for `p >= 1` and NaN for NaN.
pub fn norm_quantile(p: f64) -> f64 {
    if p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if p > 0.5 {
        // 1 - p is exact for p in (0.5, 1), and the lower half is where the refinement
        // keeps full relative accuracy.
        return -lower_quantile(1.0 - p);
    }
    lower_quantile(p)
}

/// The quantile for p in (0, 0.5].
fn lower_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [-3.969_683_028_665_376e1, 2.209_460_984_245_205e2, -2.759_285_104_469_687e2, 1.383_577_518_672_69e2, -3.066_479_806_614_716e1, 2.506_628_277_459_239];
    const B: [f64; 5] = [-5.447_609_879_822_406e1, 1.615_858_368_580_409e2, -1.556_989_798_598_866e2, 6.680_131_188_771_972e1, -1.328_068_155_288_572e1];
    const C: [f64; 6] = [-7.784_894_002_430_293e-3, -3.223_964_580_411_365e-1, -2.400_758_277_161_838, -2.549_732_539_343_734, 4.374_664_141_464_968, 2.938_163_982_698_783];
    const D: [f64; 4] = [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    const P_LOW: f64 = 0.02425;
    let x = if p < P_LOW {
        let q = libm::sqrt(-2.0 * libm::log(p));
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    // One Halley step: error in p divided by the density, with the curvature correction.
    let density = gauss(x) / (2.0 * std::f64::consts::PI).sqrt();
    if density <= 0.0 {
        return x;
    }
    let u = (norm_cdf(x) - p) / density;
    x - u / (1.0 + 0.5 * x * u)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sample sizes: smaller in debug builds, with tolerances derived from the standard error
    /// of whatever size is used.
    fn draws(release: usize) -> usize {
        if cfg!(debug_assertions) {
            release / 5
        } else {
            release
        }
    }

    fn within(label: &str, got: f64, expected: f64, se: f64) {
        assert!((got - expected).abs() <= 4.0 * se, "{label}: got {got}, expected {expected} within 4 standard errors of {se}");
    }

    #[test]
    fn stream_ids_are_stable_and_distinct() {
        // Pinned values: a change here breaks every saved seed.
        assert_eq!(stream_id(""), mix(0xcbf2_9ce4_8422_2325));
        assert_eq!(stream_id("growth/cloud"), stream_id("growth/cloud"));
        assert_ne!(stream_id("growth/cloud"), stream_id("growth/clouds"));
        assert_ne!(stream_id("a"), stream_id("b"));
        assert_eq!(mix(0), 0);
        assert_eq!(mix(1), 0x5692_161d_100b_05e5);
    }

    #[test]
    fn keys_split_into_stream_and_path() {
        for (seed, stream, path) in [(0, 0, 0), (42, stream_id("margin/x"), 123_456), (u64::MAX, 7, u64::MAX)] {
            assert_eq!(key(seed, stream, path), path_key(stream_key(seed, stream), path));
        }
        assert_ne!(key(1, 2, 3), key(1, 2, 4));
        assert_ne!(key(1, 2, 3), key(1, 3, 3));
        assert_ne!(key(1, 2, 3), key(2, 2, 3));
    }

    #[test]
    fn uniforms_are_open_and_have_the_right_moments() {
        assert!(uniform(0) > 0.0 && uniform(u64::MAX) < 1.0);
        let n = draws(1_000_000);
        let k = key(7, stream_id("u"), 0);
        let (mut sum, mut sum2) = (0.0, 0.0);
        for step in 0..n as u64 {
            let u = uniform(bits(k, step));
            sum += u;
            sum2 += u * u;
        }
        let mean = sum / n as f64;
        let var = sum2 / n as f64 - mean * mean;
        within("uniform mean", mean, 0.5, (1.0 / 12.0 / n as f64).sqrt());
        // Var of (U - 1/2)^2 is 1/80 - 1/144 = 1/180.
        within("uniform variance", var, 1.0 / 12.0, (1.0 / 180.0 / n as f64).sqrt());
    }

    #[test]
    fn every_output_bit_is_balanced() {
        let n = draws(200_000);
        let mut ones = [0u64; 64];
        for path in 0..n as u64 {
            let b = bits(key(3, 9, path), path % 11);
            for (i, count) in ones.iter_mut().enumerate() {
                *count += (b >> i) & 1;
            }
        }
        // Four standard errors for each bit, and a bit would need a bias to fail.
        for (i, count) in ones.iter().enumerate() {
            within(&format!("bit {i}"), *count as f64 / n as f64, 0.5, (0.25 / n as f64).sqrt());
        }
    }

    /// The correlation of uniforms from pairs of draws, over `n` pairs.
    fn correlation(n: usize, pair: impl Fn(u64) -> (u64, u64)) -> f64 {
        let (mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for i in 0..n as u64 {
            let (a, b) = pair(i);
            let (x, y) = (uniform(a), uniform(b));
            sx += x;
            sy += y;
            sxx += x * x;
            syy += y * y;
            sxy += x * y;
        }
        let n = n as f64;
        let cov = sxy / n - sx / n * sy / n;
        cov / ((sxx / n - (sx / n).powi(2)) * (syy / n - (sy / n).powi(2))).sqrt()
    }

    #[test]
    fn neighbouring_steps_paths_and_streams_are_uncorrelated() {
        let n = draws(500_000);
        // Under independence the sample correlation has standard error 1/sqrt(n).
        let se = 1.0 / (n as f64).sqrt();
        let s = stream_key(11, stream_id("growth/cloud"));
        let t = stream_key(11, stream_id("growth/cloud2"));
        let steps = correlation(n, |i| (bits(path_key(s, i / 8), i % 8), bits(path_key(s, i / 8), i % 8 + 1)));
        let paths = correlation(n, |i| (bits(path_key(s, i), 3), bits(path_key(s, i + 1), 3)));
        let streams = correlation(n, |i| (bits(path_key(s, i), 0), bits(path_key(t, i), 0)));
        let seeds = correlation(n, |i| (bits(key(1, 5, i), 0), bits(key(2, 5, i), 0)));
        for (label, r) in [("steps", steps), ("paths", paths), ("streams", streams), ("seeds", seeds)] {
            within(label, r, 0.0, se);
        }
    }

    #[test]
    fn ziggurat_tables_match_their_definition() {
        let mut edge = [0.0f64; 257];
        edge[0] = ZIGGURAT_V / gauss(ZIGGURAT_R);
        edge[1] = ZIGGURAT_R;
        for i in 1..255 {
            edge[i + 1] = libm::sqrt(-2.0 * libm::log(ZIGGURAT_V / edge[i] + gauss(edge[i])));
        }
        // The recursion from R lands close to the top of the curve (R and V agree).
        assert!(edge[255] > 0.0 && edge[255] < 0.3, "edge[255] = {}", edge[255]);
        let two53 = (1u64 << 53) as f64;
        for i in 0..256 {
            assert!(edge[i] > edge[i + 1], "edges decrease at {i}");
            assert_eq!(ACCEPT[i], ((edge[i + 1] / edge[i]) * two53) as u64, "ACCEPT[{i}]");
            assert_eq!(SCALE[i].to_bits(), (edge[i] / two53).to_bits(), "SCALE[{i}]");
        }
        for i in 0..257 {
            assert_eq!(DENSITY[i].to_bits(), gauss(edge[i]).to_bits(), "DENSITY[{i}]");
        }
        // The base layer: the rectangle under f(R) plus the tail beyond R has area V.
        let tail = (std::f64::consts::PI / 2.0).sqrt() * libm::erfc(ZIGGURAT_R / std::f64::consts::SQRT_2);
        assert!((ZIGGURAT_R * gauss(ZIGGURAT_R) + tail - ZIGGURAT_V).abs() < 1e-12);
    }

    #[test]
    fn normal_moments_and_tails_match() {
        let n = draws(10_000_000);
        let k = key(2024, stream_id("normal test"), 0);
        let (mut s1, mut s2, mut s3, mut s4) = (0.0, 0.0, 0.0, 0.0);
        let (mut above2, mut above3, mut beyond_r, mut above4) = (0u64, 0u64, 0u64, 0u64);
        for step in 0..n as u64 {
            let z = std_normal(bits(k, step));
            let z2 = z * z;
            s1 += z;
            s2 += z2;
            s3 += z2 * z;
            s4 += z2 * z2;
            above2 += (z > 2.0) as u64;
            above3 += (z > 3.0) as u64;
            beyond_r += (z.abs() > ZIGGURAT_R) as u64;
            above4 += (z < -4.0) as u64;
        }
        let nf = n as f64;
        within("mean", s1 / nf, 0.0, (1.0 / nf).sqrt());
        within("variance", s2 / nf, 1.0, (2.0 / nf).sqrt());
        within("skewness", s3 / nf, 0.0, (15.0 / nf).sqrt());
        within("kurtosis", s4 / nf, 3.0, (96.0 / nf).sqrt());
        for (label, count, t, two_sided) in [("P(Z>2)", above2, 2.0, false), ("P(Z>3)", above3, 3.0, false), ("P(|Z|>R)", beyond_r, ZIGGURAT_R, true), ("P(Z<-4)", above4, 4.0, false)] {
            let p = norm_cdf(-t) * if two_sided { 2.0 } else { 1.0 };
            within(label, count as f64 / nf, p, (p * (1.0 - p) / nf).sqrt());
        }
    }

    #[test]
    fn normal_passes_kolmogorov_smirnov_and_chi_square() {
        let n = draws(1_000_000);
        let k = key(99, stream_id("ks"), 5);
        let mut z: Vec<f64> = (0..n as u64).map(|s| std_normal(bits(k, s))).collect();
        z.sort_unstable_by(f64::total_cmp);
        let nf = n as f64;
        let d = z.iter().enumerate().map(|(i, &x)| {
            let f = norm_cdf(x);
            (f - i as f64 / nf).abs().max(((i + 1) as f64 / nf - f).abs())
        });
        let d = d.fold(0.0, f64::max);
        // sqrt(n) D exceeds 1.95 with probability 0.1% under the null.
        assert!(d * nf.sqrt() < 1.95, "KS statistic sqrt(n) D = {}", d * nf.sqrt());
        // Chi-square over 200 equiprobable cells: 199 degrees of freedom, sd sqrt(398).
        let cells = 200;
        let mut counts = vec![0u64; cells];
        for &x in &z {
            counts[((norm_cdf(x) * cells as f64) as usize).min(cells - 1)] += 1;
        }
        let expected = nf / cells as f64;
        let chi2: f64 = counts.iter().map(|&c| (c as f64 - expected).powi(2) / expected).sum();
        let dof = (cells - 1) as f64;
        assert!(chi2 < dof + 4.0 * (2.0 * dof).sqrt(), "chi-square {chi2} with {dof} degrees of freedom");
    }

    #[test]
    fn fill_normals_matches_std_normal() {
        let s = stream_key(5, stream_id("batch"));
        for (count, steps) in [(0, 10), (1, 1), (3, 0), (50, 10), (7, 13), (1, 37), (64, 3)] {
            let keys: Vec<u64> = (0..count as u64).map(|p| path_key(s, p * 31 + 7)).collect();
            let mut out = vec![f64::NAN; count * steps + 3];
            fill_normals(&keys, steps, &mut out);
            for (k, &key) in keys.iter().enumerate() {
                for t in 0..steps {
                    assert_eq!(out[k * steps + t].to_bits(), std_normal(bits(key, t as u64)).to_bits(), "key {k} step {t} of {count} x {steps}");
                }
            }
            assert!(out[count * steps..].iter().all(|x| x.is_nan()), "values past the batch are left alone");
        }
    }

    #[test]
    fn normal_is_deterministic() {
        for b in [0, 1, 0xff, 0x100, u64::MAX, 12345] {
            assert_eq!(std_normal(b).to_bits(), std_normal(b).to_bits());
            assert!(std_normal(b).is_finite());
        }
    }

    #[test]
    fn quantile_inverts_the_cdf() {
        let known = [(0.5, 0.0), (0.975, 1.959_963_984_540_054), (0.999, 3.090_232_306_167_813), (1e-10, -6.361_340_902_404_056)];
        for (p, z) in known {
            assert!((norm_quantile(p) - z).abs() <= 1e-12 * z.abs().max(1.0), "quantile({p}) = {} vs {z}", norm_quantile(p));
        }
        for i in 1..2000 {
            let p = i as f64 / 2000.0;
            let z = norm_quantile(p);
            assert!((norm_cdf(z) - p).abs() <= 1e-14 * p.min(1.0 - p).max(1e-3), "p = {p}");
        }
        for e in 3..300 {
            let p = 10f64.powi(-e);
            let z = norm_quantile(p);
            assert!(((norm_cdf(z) - p) / p).abs() < 1e-12, "p = 1e-{e}: z = {z}");
            assert_eq!(norm_quantile(1.0 - p.max(1e-16)), -norm_quantile(1.0 - (1.0 - p.max(1e-16))));
        }
        assert_eq!(norm_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(norm_quantile(1.0), f64::INFINITY);
        assert!(norm_quantile(f64::NAN).is_nan());
        assert!((norm_cdf(0.0) - 0.5).abs() < 1e-16);
    }

    /// CPU time of this thread in seconds, where Linux tells it (`/proc/thread-self/stat`,
    /// in clock ticks of 1/100 s): on a shared machine wall time also counts other processes.
    fn thread_cpu_seconds() -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some(ticks / 100.0)
    }

    /// Times `draw` over `n` draws and prints wall and CPU nanoseconds per draw.
    fn time_draws(label: &str, n: u64, draw: impl Fn(u64) -> f64) {
        let (wall, cpu) = (std::time::Instant::now(), thread_cpu_seconds());
        // Four sums, so the additions do not form one long dependency chain.
        let mut sums = [0.0; 4];
        for i in (0..n).step_by(4) {
            for (j, sum) in sums.iter_mut().enumerate() {
                *sum += draw(i + j as u64);
            }
        }
        let wall = wall.elapsed().as_secs_f64() * 1e9 / n as f64;
        let cpu = cpu.zip(thread_cpu_seconds()).map(|(a, b)| format!("{:.2}", (b - a) * 1e9 / n as f64)).unwrap_or_else(|| "?".into());
        println!("{label}: {wall:.2} ns per draw wall, {cpu} ns CPU (check {:.1})", sums.iter().sum::<f64>());
    }

    /// Run with `cargo test --release -p holdco-scenario -- --ignored --nocapture`.
    /// Measured on the development machine (AMD EPYC at 2.6 GHz, shared, release build):
    /// std_normal about 1.9 ns of CPU per draw including bits (about 27 instructions), uniform
    /// about 0.9 ns.
    #[test]
    #[ignore]
    fn timing_std_normal() {
        let n = 400_000_000u64;
        let k = key(1, stream_id("timing"), 0);
        time_draws("std_normal(bits(key, step))", n, |step| std_normal(bits(k, step)));
        // As the engine draws: a row of 10 steps for each successive (stream, path) key.
        let base = stream_key(1, stream_id("timing"));
        let (wall, cpu) = (std::time::Instant::now(), thread_cpu_seconds());
        let mut sums = [0.0; 10];
        for path in 0..n / 10 {
            let k = path_key(base, path);
            for (step, sum) in sums.iter_mut().enumerate() {
                *sum += std_normal(bits(k, step as u64));
            }
        }
        let wall = wall.elapsed().as_secs_f64() * 1e9 / n as f64;
        let cpu = cpu.zip(thread_cpu_seconds()).map(|(a, b)| format!("{:.2}", (b - a) * 1e9 / n as f64)).unwrap_or_else(|| "?".into());
        println!("std_normal, a row of 10 steps per path key: {wall:.2} ns per draw wall, {cpu} ns CPU (check {:.1})", sums.iter().sum::<f64>());
        time_draws("uniform(bits(key, step))", n, |step| uniform(bits(k, step)));
    }
}
