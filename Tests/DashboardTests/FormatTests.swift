import Testing
@testable import Dashboard

@Suite struct FormatTests {
    @Test func money() {
        #expect(Format.money(0) == "$0.00")
        #expect(Format.money(5) == "$0.05")
        #expect(Format.money(123_456_789) == "$1,234,567.89")
        #expect(Format.money(-1_299) == "-$12.99")
    }

    @Test func ratesAndTimes() {
        #expect(Format.rate(0) == "0")
        #expect(Format.rate(950) == "950")
        #expect(Format.rate(1_234) == "1.2k")
        #expect(Format.rate(12_345) == "12k")
        #expect(Format.rate(3_400_000) == "3.4M")
        #expect(Format.milliseconds(0.842) == "0.84 ms")
        #expect(Format.milliseconds(12.4) == "12 ms")
        #expect(Format.milliseconds(1_500) == "1.5 s")
        #expect(Format.duration(125) == "2m05s")
        #expect(Format.grouped(UInt64(1_234_567)) == "1,234,567")
    }
}
